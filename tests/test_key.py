"""The pseudonymisation key: created once with mode 0600, outside the data folder."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import stat
import time
from pathlib import Path

import pytest

from teamlens.config import PrivacyConfig
from teamlens.errors import KeyFileError
from teamlens.privacy import (
    is_current_key_check,
    key_check,
    key_weakness,
    load_key,
    upgraded_key_check,
    verify_key_check,
)
from tests.conftest import TEST_KEY


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
    monkeypatch.setenv("MY_KEY", TEST_KEY)
    privacy = PrivacyConfig(key_env="MY_KEY", key_file=tmp_path / "unused")
    assert load_key(privacy, tmp_path / "data") == TEST_KEY.encode()
    assert not (tmp_path / "unused").exists()


def test_a_key_file_inside_the_data_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="outside the data folder"):
        load_key(PrivacyConfig(key_file=tmp_path / "data" / "key"), tmp_path / "data")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("key", "why"),
    [
        pytest.param("guessable-key-16", "at least 32 bytes long, got 16", id="the-old-minimum"),
        pytest.param("a" * 40, "only 1 distinct characters", id="one-character"),
        pytest.param("0123456789abcdef" * 2, "a repeated pattern", id="repeated"),
        pytest.param("abcdefghijklmnopqrstuvwxyz0123456789", "runs of consecutive", id="a-run"),
        pytest.param("password-password-password-12345", "about 111 bits", id="few-bits"),
    ],
)
def test_a_short_or_guessable_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, why: str
) -> None:
    assert key_weakness(key.encode()) is not None
    monkeypatch.setenv("MY_KEY", key)
    with pytest.raises(KeyFileError, match=why) as raised:
        load_key(PrivacyConfig(key_env="MY_KEY"), tmp_path / "data")
    assert "environment variable MY_KEY" in str(raised.value)
    assert key not in str(raised.value)  # the key itself is never printed
    key_file = tmp_path / "key"
    key_file.write_text(key + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    monkeypatch.delenv("MY_KEY")
    with pytest.raises(KeyFileError, match=f"{key_file}: .*{why}"):
        load_key(PrivacyConfig(key_env="MY_KEY", key_file=key_file), tmp_path / "data")


def test_random_keys_are_accepted() -> None:
    """32 random bytes as teamlens writes them (hex), or as base64 / URL-safe text."""
    for _ in range(500):
        assert key_weakness(secrets.token_hex(32).encode()) is None
        assert key_weakness(secrets.token_urlsafe(32).encode()) is None
        assert key_weakness(base64.b64encode(secrets.token_bytes(32))) is None
    assert key_weakness(TEST_KEY.encode()) is None


def test_the_key_check_costs_a_slow_kdf_and_verifies_only_its_key() -> None:
    key, other = TEST_KEY.encode(), secrets.token_hex(32).encode()
    salt = bytes(range(16))
    started = time.perf_counter()
    check = key_check(key, salt)
    seconds = time.perf_counter() - started
    scheme, n, r, p, salt_hex, digest = check.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**15, 8, 1)
    assert 128 * int(n) * int(r) <= 64 * 1024 * 1024  # memory per guess
    assert salt_hex == salt.hex() and len(digest) == 64
    assert seconds > 0.02  # a slow KDF, not a hash (about 0.1 s on a laptop core)
    assert verify_key_check(key, check)
    assert not verify_key_check(other, check)
    assert key_check(key, salt) == check  # deterministic for a given salt
    assert key_check(key, bytes(16)) != check  # and salted
    # Without a salt: a random one, the same string for the rest of the process.
    fresh = key_check(other)
    assert fresh.split("$")[4] != salt.hex() and key_check(other) == fresh


def test_a_legacy_key_check_is_still_read() -> None:
    """Stores written before the scrypt check hold 16 hex characters of an HMAC."""
    key = TEST_KEY.encode()
    legacy = hmac.new(key, b"teamlens key check v1", hashlib.sha256).hexdigest()[:16]
    assert verify_key_check(key, legacy)
    assert not verify_key_check(secrets.token_hex(32).encode(), legacy)
    assert not is_current_key_check(legacy)
    upgraded = upgraded_key_check(key, legacy)
    assert is_current_key_check(upgraded) and verify_key_check(key, upgraded)


@pytest.mark.parametrize(
    "recorded",
    [
        "scrypt$32768$8$1$zz$00",
        "bcrypt$32768$8$1$00112233445566778899aabbccddeeff$" + "0" * 64,
        "scrypt$1048576$8$1$00112233445566778899aabbccddeeff$" + "0" * 64,  # 1 GiB
        "scrypt$1024$8$1$00112233445566778899aabbccddeeff$" + "0" * 64,  # too cheap
        "0123",
    ],
)
def test_an_unreadable_key_check_is_refused(recorded: str) -> None:
    with pytest.raises(KeyFileError, match="stored key check"):
        verify_key_check(TEST_KEY.encode(), recorded)
