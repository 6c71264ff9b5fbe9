"""The fake GitHub, assembled from its resource mixins."""

from __future__ import annotations

from tests.github_server.plumbing import _Http


class FakeGitHub(_Http):
    """A GitHub-compatible REST v3 server; see the package docstring."""
