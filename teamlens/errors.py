"""Exceptions that the CLI turns into one clear line on stderr.

Every error a user can cause derives from :class:`TeamlensError`, so the CLI catches
exactly one family at its edge and lets real bugs surface with a traceback.
"""


class TeamlensError(Exception):
    "Base class for errors caused by input, configuration or repository state"


class ConfigError(TeamlensError):
    "repos.yaml is missing, unreadable or invalid"


class KeyFileError(TeamlensError):
    "The pseudonymisation key cannot be read, created or trusted"


class RepositoryError(TeamlensError):
    "A configured repository is missing, not a git repository, or unreadable"


class StoreError(TeamlensError):
    "The fact store is locked, corrupt or cannot be written"


class QueryError(TeamlensError):
    "A `teamlens query` statement failed"
