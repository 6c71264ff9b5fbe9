"""How teamlens's HTTP servers (``serve``, ``bot serve``) may listen: TLS off loopback.

A bearer token or a webhook payload sent over plain HTTP can be read by anyone on the
path. On a loopback address that path is this machine; anywhere else a server needs TLS
(a certificate and its key, handed to uvicorn) or the operator's word that a proxy in
front of it terminates TLS (``--behind-proxy``; the startup line says so).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from teamlens.errors import TeamlensError

#: Addresses that never leave the machine.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


class TransportError(TeamlensError):
    "A server would send secrets in the clear, or its certificate cannot be used"


def is_loopback(host: str) -> bool:
    return host.strip().lower() in LOOPBACK_HOSTS


@dataclass(frozen=True)
class Transport:
    """TLS settings of a server: a certificate and key (PEM files), or a proxy's TLS."""

    certfile: Path | None = None
    keyfile: Path | None = None
    behind_proxy: bool = False

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    def check(self, host: str, command: str) -> None:
        """Refuse plain HTTP off loopback, half a certificate, or one that does not load.

        Raises
        ------
        TransportError
            Nothing is bound then.
        """
        if (self.certfile is None) != (self.keyfile is None):
            raise TransportError(f"{command}: give both --certfile and --keyfile")
        if self.certfile is not None and self.keyfile is not None:
            try:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(self.certfile, self.keyfile)
            except (OSError, ssl.SSLError) as exc:
                reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
                raise TransportError(
                    f"{command}: cannot use the certificate {self.certfile} with the key "
                    f"{self.keyfile} ({reason})"
                ) from None
        if not is_loopback(host) and not self.tls and not self.behind_proxy:
            raise TransportError(
                f"{command}: refusing plain HTTP on {host!r}: off loopback, give "
                "--certfile and --keyfile (TLS), or --behind-proxy when a proxy in front "
                "terminates TLS"
            )

    def uvicorn_options(self) -> dict[str, str]:
        """``ssl_certfile``/``ssl_keyfile`` for ``uvicorn.Config`` (empty without TLS)."""
        if self.certfile is None or self.keyfile is None:
            return {}
        return {"ssl_certfile": str(self.certfile), "ssl_keyfile": str(self.keyfile)}

    def url(self, host: str, port: int, path: str = "/") -> str:
        """The address for the startup line, saying who does TLS."""
        where = f"[{host}]" if ":" in host else host
        if self.tls:
            return f"https://{where}:{port}{path}"
        if self.behind_proxy:
            return f"http://{where}:{port}{path} (TLS terminated by a proxy in front)"
        return f"http://{where}:{port}{path}"
