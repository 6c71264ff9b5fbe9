"""repos.yaml: schema, validation and the starter file written by `teamlens init`.

The file is parsed into frozen dataclasses. Every problem raises :class:`ConfigError`
with one line naming the file, the key (as a path such as ``repositories[1].path``)
and what was expected, before anything is written anywhere. Text from the file (keys,
paths) that would not print on one line is shown as a Python literal.

The modules: ``schema`` (the dataclasses and their defaults), ``yaml_loader`` (parsing),
``reading`` (typed getters and error messages), ``validation`` (:func:`load_config`) and
``starter`` (:func:`write_starter`).
"""

from teamlens.config.schema import (
    DEFAULT_BOTS,
    DEFAULT_CONFIG_NAME,
    DEFAULT_FIX_PATTERNS,
    DEFAULT_RULE_THRESHOLDS,
    DEFAULT_SZZ_FILTERS,
    MIN_K,
    SZZ_FILTERS,
    SZZ_VARIANTS,
    Config,
    GithubConfig,
    LabelConfig,
    MiningConfig,
    ModelConfig,
    PrivacyConfig,
    RepositoryConfig,
    ReviewConfig,
    TeamsConfig,
)
from teamlens.config.starter import STARTER, exclude_data_folders, write_starter
from teamlens.config.validation import load_config
from teamlens.config.yaml_loader import MAX_YAML_DEPTH

__all__ = [
    "DEFAULT_BOTS",
    "DEFAULT_CONFIG_NAME",
    "DEFAULT_FIX_PATTERNS",
    "DEFAULT_RULE_THRESHOLDS",
    "DEFAULT_SZZ_FILTERS",
    "MAX_YAML_DEPTH",
    "MIN_K",
    "STARTER",
    "SZZ_FILTERS",
    "SZZ_VARIANTS",
    "Config",
    "GithubConfig",
    "LabelConfig",
    "MiningConfig",
    "ModelConfig",
    "PrivacyConfig",
    "RepositoryConfig",
    "ReviewConfig",
    "TeamsConfig",
    "exclude_data_folders",
    "load_config",
    "write_starter",
]
