"""Who may call the API and how often: the API key check and the per-client rate limit.

One `Guards` per app, shared by every route that answers questions (`/api/ask`,
`/v1/chat/completions`), so a client has one budget whichever protocol it speaks.
Both are FastAPI dependencies: `Depends(guards.require_key)`, `Depends(guards.rate_limited)`.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from rag.config import Settings

from .ratelimit import RateLimiter

__all__ = ["Guards", "client_ip"]

# Module level: FastAPI resolves the (string) annotations of dependencies against module globals.
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key, when one is configured")
_bearer = HTTPBearer(auto_error=False, description="the API key as a bearer token")


def client_ip(request: Request) -> str:
    """The peer address (proxies' X-Forwarded-For is not trusted: it is client-controlled)."""
    return request.client.host if request.client else "unknown"


class Guards:
    """The API key (when `settings.api_key` is set) and `settings.rate_limit_per_minute` per client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_limit_per_minute)

    def require_key(
        self,
        key: Annotated[str | None, Depends(_key_header)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        expected = self.settings.api_key
        if not expected:
            return
        given = key or (credentials.credentials if credentials else None)
        if given is None:
            raise HTTPException(401, "an API key is required: send it as X-API-Key or Authorization: Bearer",
                                headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})

    def rate_limited(self, request: Request) -> None:
        ip = client_ip(request)
        if not self.limiter.allow(ip):
            wait = self.limiter.retry_after(ip)
            raise HTTPException(
                429,
                f"too many questions: the limit is {self.settings.rate_limit_per_minute} per minute; retry in {wait}s",
                headers={"Retry-After": str(wait)},
            )
