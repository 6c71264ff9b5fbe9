"""Webhook settings: where the server listens, how much it accepts, and its secret."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from teamlens.errors import TeamlensError
from teamlens.serving import Transport

SECRET_ENV: Final = "TEAMLENS_WEBHOOK_SECRET"  # noqa: S105 (the variable's name)


class WebhookConfigError(TeamlensError):
    """A :class:`WebhookSettings` value is out of range."""


class MissingSecretError(WebhookConfigError):
    """No webhook secret: the environment variable is unset or empty."""


@dataclass(frozen=True)
class WebhookSettings:
    """How the webhook server listens and how much it accepts.

    ``secret`` is the webhook secret configured on GitHub; it is left out of ``repr``.
    """

    secret: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1024 * 1024
    queue_size: int = 100
    review_drafts: bool = False
    dedupe_size: int = 10_000
    shutdown_timeout: float = 30.0  # seconds to wait for a running review on shutdown
    transport: Transport = field(default_factory=Transport)  # TLS or a proxy, off loopback

    def __post_init__(self) -> None:
        if not isinstance(self.secret, str) or not self.secret:
            raise WebhookConfigError("the webhook secret must be a non-empty string")
        if not self.host:
            raise WebhookConfigError("host must not be empty")
        if not 0 <= self.port <= 65535:
            raise WebhookConfigError(f"port must be 0..65535, not {self.port}")
        for name in ("max_body_bytes", "queue_size", "dedupe_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise WebhookConfigError(f"{name} must be a positive integer, not {value!r}")
        if self.shutdown_timeout < 0:
            raise WebhookConfigError("shutdown_timeout must not be negative")

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        review_drafts: bool = False,
        transport: Transport | None = None,
    ) -> WebhookSettings:
        """Settings with the secret from ``$TEAMLENS_WEBHOOK_SECRET``."""
        env = os.environ if environ is None else environ
        secret = env.get(SECRET_ENV, "")
        if not secret:
            raise MissingSecretError(
                f"set the webhook secret in the environment variable {SECRET_ENV}"
            )
        return cls(
            secret=secret,
            host=host,
            port=port,
            review_drafts=review_drafts,
            transport=transport or Transport(),
        )
