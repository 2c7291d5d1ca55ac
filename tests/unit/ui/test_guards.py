"""Who a client is for the rate limit: its API key, or its address (from a trusted proxy's
X-Forwarded-For only); and which keys are accepted. Over the in-process app."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.config import Settings
from rag.errors import ConfigError
from tests.unit.ui.test_api import FakeAssistant, FakeIndex, _settings
from ui.app import create_app

QUESTION = {"question": "2024年检查了多少家企业？"}


@pytest.fixture(scope="module")
def index() -> FakeIndex:
    from tests.conftest import SAMPLE

    return FakeIndex([SAMPLE])


def _peer(tmp_path: Path, index: FakeIndex, peer: str, **changes: object) -> TestClient:
    """A client whose TCP peer is `peer` (a proxy, or a client that skipped it)."""
    settings = _settings(tmp_path, **changes)
    app = create_app(FakeAssistant(index.copy(), settings), settings, with_page=False)
    return TestClient(app, client=(peer, 50000), raise_server_exceptions=False)


def _asks(client: TestClient, n: int, **headers: str) -> list[int]:
    return [client.post("/api/ask", json=QUESTION, headers=headers).status_code for _ in range(n)]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(tmp_path: Path, index: FakeIndex) -> None:
    proxy = _peer(tmp_path, index, "10.0.0.5", trusted_proxies=("10.0.0.0/24",), rate_limit_per_minute=2)
    assert _asks(proxy, 3, **{"X-Forwarded-For": "203.0.113.7"}) == [200, 200, 429]
    assert _asks(proxy, 2, **{"X-Forwarded-For": "203.0.113.8"}) == [200, 200]  # another user behind it
    # the proxy appends the peer it saw: a forged first entry does not make a new client
    assert _asks(proxy, 1, **{"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}) == [429]


def test_a_client_that_is_no_trusted_proxy_gains_nothing_by_forging_the_header(tmp_path: Path, index: FakeIndex) -> None:
    direct = _peer(tmp_path, index, "192.0.2.9", trusted_proxies=("10.0.0.0/24",), rate_limit_per_minute=2)
    statuses = [direct.post("/api/ask", json=QUESTION, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                for n in range(3)]
    assert statuses == [200, 200, 429]


def test_without_trusted_proxies_the_header_is_never_read(tmp_path: Path, index: FakeIndex) -> None:
    local = _peer(tmp_path, index, "127.0.0.1", rate_limit_per_minute=1)  # uvicorn would trust loopback
    assert _asks(local, 1, **{"X-Forwarded-For": "203.0.113.1"}) + _asks(local, 1, **{"X-Forwarded-For": "203.0.113.2"}) == [200, 429]


def test_each_api_key_has_its_own_budget_and_a_429_says_when_to_retry(tmp_path: Path, index: FakeIndex) -> None:
    client = _peer(tmp_path, index, "192.0.2.1", api_key="shared", api_keys=("portal:p0rtal:4",), rate_limit_per_minute=1)
    assert _asks(client, 2, **{"X-API-Key": "shared"}) == [200, 429]
    assert _asks(client, 5, **{"Authorization": "Bearer p0rtal"}) == [200, 200, 200, 200, 429]
    r = client.post("/api/ask", json=QUESTION, headers={"X-API-Key": "p0rtal"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "4 per minute" in r.json()["message"]
    assert client.post("/api/ask", json=QUESTION, headers={"X-API-Key": "nope"}).status_code == 401
    assert client.get("/api/documents", headers={"X-API-Key": "p0rtal"}).status_code == 200


@pytest.mark.parametrize("changes", [
    {"trusted_proxies": ("nginx",)},
    {"api_keys": ("no-secret",)},
    {"api_keys": ("portal:k:many",)},
    {"api_keys": ("a:same", "b:same")},
    {"api_key": "k", "api_keys": ("default:other",)},
])
def test_bad_proxy_and_key_settings_are_refused(changes: dict) -> None:
    with pytest.raises(ConfigError):
        Settings(**changes)


def test_keys_and_proxies_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"POLICYQA_API_KEYS": "portal:p0rtal:600, ops:0ps", "POLICYQA_TRUSTED_PROXIES": "10.0.0.0/8,::1"})
    assert settings.api_keys == ("portal:p0rtal:600", "ops:0ps") and settings.trusted_proxies == ("10.0.0.0/8", "::1")


def test_named_keys_alone_give_budgets_but_leave_the_api_open(tmp_path: Path, index: FakeIndex) -> None:
    client = _peer(tmp_path, index, "192.0.2.2", api_keys=("portal:p0rtal:5",), rate_limit_per_minute=1)
    assert _asks(client, 2) == [200, 429]  # keyless: by address
    assert _asks(client, 2, **{"X-API-Key": "p0rtal"}) == [200, 200]  # the portal's own budget
    assert _asks(client, 1, **{"X-API-Key": "wrong"}) == [401]  # a wrong key is no key
    security = client.get("/openapi.json").json()["paths"]["/api/ask"]["post"]["security"]
    assert security[0] == {} and len(security) == 3  # optional: none, or either scheme


def test_a_proxy_range_written_with_host_bits_still_trusts_its_proxies(tmp_path: Path, index: FakeIndex) -> None:
    proxy = _peer(tmp_path, index, "127.0.0.1", trusted_proxies=("127.0.0.1/8",), rate_limit_per_minute=1)
    assert [proxy.post("/api/ask", json=QUESTION, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in range(3)] == [200, 200, 200]


def test_ipv6_clients_share_their_64(tmp_path: Path, index: FakeIndex) -> None:
    proxy = _peer(tmp_path, index, "10.0.0.5", trusted_proxies=("10.0.0.5",), rate_limit_per_minute=1)
    assert _asks(proxy, 1, **{"X-Forwarded-For": "2001:db8:1:2::1"}) == [200]
    assert _asks(proxy, 1, **{"X-Forwarded-For": "2001:db8:1:2::ffff"}) == [429]  # the same /64
    assert _asks(proxy, 1, **{"X-Forwarded-For": "2001:db8:1:3::1"}) == [200]


def test_the_limiter_forgets_the_least_recently_seen_beyond_its_cap() -> None:
    from ui.ratelimit import RateLimiter

    limiter = RateLimiter(1, clock=lambda: 0.0)
    limiter.MAX_KEYS = 3
    assert limiter.allow("a") and not limiter.allow("a")
    for key in ("b", "c", "d"):
        limiter.allow(key)
    assert limiter.allow("a")  # forgotten: a full bucket again (bounded memory, O(1) a request)
    assert not limiter.allow("d")  # seen recently: kept
