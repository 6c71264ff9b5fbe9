"""User documents, and who is acting: tokens, the GitHub App's JWT and installation token."""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import UTC, datetime
from urllib.parse import quote

from tests.github_server.faults import _Traffic
from tests.github_server.protocol import _HttpError
from tests.github_server.records import _DOCS_APP_TOKEN, Json, User, _node_id, iso


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _jwt_claims(token: str) -> Json | None:
    """The claims of a well-formed RS256 JWT (the signature is not checked), else None."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        _b64url(parts[2])
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        return None
    return claims if isinstance(claims, dict) else None


class _Users(_Traffic):
    """``/users/{login}`` and ``/user`` documents, and authentication (the records: core)."""

    def _user_json(self, user: User, *, full: bool = False, private: bool = False) -> Json:
        login_q = quote(user.login, safe="")
        api = f"{self.api_url}/users/{login_q}"
        if user.type == "Bot" and user.login.endswith("[bot]"):
            page = f"{self.url}/apps/{quote(user.login.removesuffix('[bot]'), safe='')}"
        else:
            page = f"{self.url}/{login_q}"
        doc: Json = {
            "login": user.login,
            "id": user.id,
            "node_id": _node_id(user.type, user.id),
            "avatar_url": f"{self.url}/avatars/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": page,
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": user.type,
            "user_view_type": "public",
            "site_admin": user.site_admin,
        }
        if not full:
            return doc
        owned = [r for r in self._repos.values() if r.owner == user.login]
        doc.update(
            {
                "name": user.name,
                "company": None,
                "blog": "",
                "location": None,
                "email": user.email,
                "hireable": None,
                "bio": None,
                "twitter_username": None,
                "public_repos": sum(1 for r in owned if not r.private),
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": user.created_at,
                "updated_at": user.created_at,
            }
        )
        if private:
            doc.update(
                {
                    "private_gists": 0,
                    "total_private_repos": sum(1 for r in owned if r.private),
                    "owned_private_repos": sum(1 for r in owned if r.private),
                    "disk_usage": 0,
                    "collaborators": 0,
                    "two_factor_authentication": True,
                    "plan": {
                        "name": "enterprise",
                        "space": 976562499,
                        "private_repos": 9999,
                        "collaborators": 0,
                    },
                }
            )
        return doc

    def _authenticate(self, authorization: str | None) -> str:
        """The login acting: the token's user, or the App's bot for the installation token."""
        scheme, _, credential = (authorization or "").partition(" ")
        known_scheme = scheme.lower() in ("token", "bearer")
        if (
            self.installation_token is not None
            and known_scheme
            and credential.strip() == self.installation_token
        ):
            return self.bot_login
        if self.token is None:
            return self.login
        if not authorization:
            raise _HttpError(401, "Requires authentication")
        if not known_scheme or credential.strip() != self.token:
            raise _HttpError(401, "Bad credentials")
        return self.login

    def _access_token(self, authorization: str | None, installation: str) -> Json:
        """POST /app/installations/{id}/access_tokens with the App's JWT (Bearer)."""
        if self.installation_token is None:
            raise _HttpError(404, "Not Found", documentation_url=_DOCS_APP_TOKEN)
        scheme, _, credential = (authorization or "").partition(" ")
        claims = _jwt_claims(credential.strip()) if scheme.lower() == "bearer" else None
        if claims is None or str(claims.get("iss")) != str(self.app_id):
            raise _HttpError(
                401, "A JSON web token could not be decoded", documentation_url=_DOCS_APP_TOKEN
            )
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or exp <= now:
            raise _HttpError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the "
                "future time at which the assertion expires.",
                documentation_url=_DOCS_APP_TOKEN,
            )
        if not isinstance(iat, int | float) or iat > now + 60 or exp - iat > 600:
            raise _HttpError(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time that the "
                "assertion was issued.",
                documentation_url=_DOCS_APP_TOKEN,
            )
        if installation != str(self.installation_id):
            raise _HttpError(404, "Not Found", documentation_url=_DOCS_APP_TOKEN)
        # the real clock, not ``clock``: github3.py refuses a token that expired by its own clock
        expires = datetime.fromtimestamp(int(now) + 3600, UTC)
        return {
            "token": self.installation_token,
            "expires_at": iso(expires),
            "permissions": {
                "checks": "write",
                "contents": "read",
                "issues": "write",
                "metadata": "read",
                "pull_requests": "write",
                "statuses": "write",
            },
            "repository_selection": "all",
        }
