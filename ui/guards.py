"""Who may call the API and how often: the API key check and the per-client rate limit.

One `Guards` per app, shared by every route that answers questions (`/api/ask`,
`/v1/chat/completions`), so a client has one budget whichever protocol it speaks.
Both are FastAPI dependencies: `Depends(guards.require_key)`, `Depends(guards.rate_limited)`.

A client is its API key when it sends a valid one (each key has its own budget:
`POLICYQA_API_KEYS` gives a portal backend its own limit), else its address. A key is
required when POLICYQA_API_KEY is set; named keys alone leave the API open to keyless
clients (limited by address) while their holders get their own budgets. A wrong key is
always refused (401), never taken for no key. The address
is the peer's, or, behind a proxy listed in `POLICYQA_TRUSTED_PROXIES`, the one the proxy
puts in X-Forwarded-For (`ui.app` installs the proxy-header handling; nobody else's
header is read).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from rag.config import ClientKey, Settings, client_keys

from .ratelimit import RateLimiter

__all__ = ["Guards", "client_ip"]

# Module level: FastAPI resolves the (string) annotations of dependencies against module globals.
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key, when one is configured")
_bearer = HTTPBearer(auto_error=False, description="the API key as a bearer token")


def client_ip(request: Request) -> str:
    """The client's address: the peer's, or a trusted proxy's X-Forwarded-For (resolved before here)."""
    return request.client.host if request.client else "unknown"


def _network(address: str) -> str:
    """The unit a budget goes to: an IPv4 address, or an IPv6 /64 (one host can hold a whole /64).

    >>> _network("203.0.113.7"), _network("2001:db8:1:2:3:4:5:6")
    ('203.0.113.7', '2001:db8:1:2::/64')
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else address


class Guards:
    """The API keys (when any is configured) and the questions per minute of each client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = client_keys(settings)
        self.limiter = RateLimiter(settings.rate_limit_per_minute)

    def _key_of(self, key: str | None, credentials: HTTPAuthorizationCredentials | str | None) -> ClientKey | None:
        token = credentials.credentials if isinstance(credentials, HTTPAuthorizationCredentials) else credentials
        given = key or token
        if given is None:
            return None
        # compare with every key (no early exit), so timing does not tell which one was close
        matches = [k for k in self.keys if hmac.compare_digest(given.encode(), k.secret.encode())]
        return matches[0] if matches else None

    def sends_a_valid_key(self, request: Request) -> bool:
        """Does the request carry one of the keys (X-API-Key or a bearer token)?"""
        return self._key_in(request) is not None

    def client_of(self, request: Request) -> str:
        """Who is asking, as the rate limit and the access log name it: key:<name> or ip:<address>."""
        return self._budget(request)[0]

    def _budget(self, request: Request) -> tuple[str, int | None]:
        """The client's bucket and its limit (None: the server's per-address one)."""
        key = self._key_in(request)
        return (f"key:{key.name}", key.per_minute) if key else (f"ip:{_network(client_ip(request))}", None)

    def _key_in(self, request: Request) -> ClientKey | None:
        bearer = request.headers.get("authorization", "")
        token = bearer[7:].strip() if bearer[:7].lower() == "bearer " else None
        return self._key_of(request.headers.get("x-api-key"), token)

    def require_key(
        self,
        key: Annotated[str | None, Depends(_key_header)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if not self.keys:
            return
        if key is None and credentials is None:
            if not self.settings.api_key:
                return  # named keys alone (POLICYQA_API_KEYS) give budgets, not a lock: keyless clients go by address
            raise HTTPException(401, "an API key is required: send it as X-API-Key or Authorization: Bearer",
                                headers={"WWW-Authenticate": "Bearer"})
        if self._key_of(key, credentials) is None:
            raise HTTPException(401, "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})

    def rate_limited(self, request: Request) -> None:
        bucket, limit = self._budget(request)
        if not self.limiter.allow(bucket, limit):
            wait = self.limiter.retry_after(bucket)
            shown = self.settings.rate_limit_per_minute if limit is None else limit
            raise HTTPException(
                429,
                f"too many questions: the limit is {shown} per minute; retry in {wait}s",
                headers={"Retry-After": str(wait)},
            )
