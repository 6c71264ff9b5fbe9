"""The pseudonymisation key: created once with mode 0600, outside the data folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from teamlens.config import PrivacyConfig
from teamlens.errors import KeyFileError
from teamlens.privacy import load_key


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "teamlens.key"
    privacy = PrivacyConfig(key_file=key_file)
    first = load_key(privacy, tmp_path / "data")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) == 64
    assert load_key(privacy, tmp_path / "data") == first
    assert list(key_file.parent.iterdir()) == [key_file]  # no temporary file left


def test_default_key_file_lives_in_the_user_config(tmp_path: Path) -> None:
    key = load_key(PrivacyConfig(), tmp_path / "data")
    default = tmp_path / "xdg" / "teamlens" / "key"  # XDG_CONFIG_HOME set by conftest
    assert default.read_bytes().strip() == key


def test_environment_variable_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_KEY", "k" * 20)
    privacy = PrivacyConfig(key_env="MY_KEY", key_file=tmp_path / "unused")
    assert load_key(privacy, tmp_path / "data") == b"k" * 20
    assert not (tmp_path / "unused").exists()


def test_a_key_file_inside_the_data_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="outside the data folder"):
        load_key(PrivacyConfig(key_file=tmp_path / "data" / "key"), tmp_path / "data")
    assert not (tmp_path / "data").exists()
