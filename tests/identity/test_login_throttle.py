"""Login throttling in one process: back-off per address and per account, never a
lockout of the owner at a known address, and the same treatment for unknown usernames."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import FixedClock

Client = Callable[[str], TestClient]


@pytest.fixture
def from_address(app: FastAPI) -> Iterator[Client]:
    """Clients of the same app (and rolled-back session) from given source addresses."""
    opened: list[TestClient] = []

    def _client(address: str) -> TestClient:
        c = TestClient(app, raise_server_exceptions=False, client=(address, 40000))
        c.__enter__()
        opened.append(c)
        return c

    yield _client
    for c in opened:
        c.__exit__(None, None, None)


def _login(c: TestClient, username: str, password: str = "telemed-demo"):  # type: ignore[no-untyped-def]
    return c.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_wrong_passwords_from_one_address_back_off_exponentially(
    from_address: Client, clock: FixedClock
) -> None:
    c = from_address("198.51.100.7")
    for _ in range(5):  # account_free_failures
        assert _login(c, "specialist2", "wrong").status_code == 401
    sixth = _login(c, "specialist2", "wrong")
    assert sixth.status_code == 401  # the sixth failure is counted and starts the block
    blocked = _login(c, "specialist2")  # even the right password is not heard now
    assert blocked.status_code == 429
    assert blocked.headers["content-type"].startswith("application/problem+json")
    body = blocked.json()
    assert body["code"] == "login_throttled" and body["retry_after"] == 1
    assert blocked.headers["Retry-After"] == "1"
    clock.advance(seconds=1.5)
    assert _login(c, "specialist2", "wrong").status_code == 401
    second = _login(c, "specialist2", "wrong")
    assert second.status_code == 429 and second.headers["Retry-After"] == "2"
    clock.advance(seconds=2.5)
    assert _login(c, "specialist2", "wrong").status_code == 401
    assert _login(c, "specialist2").headers["Retry-After"] == "4"
    clock.advance(seconds=5)
    assert _login(c, "specialist2").status_code == 200


def test_spraying_many_accounts_from_one_address_is_throttled(
    from_address: Client, clock: FixedClock
) -> None:
    c = from_address("198.51.100.8")
    names = ["specialist", "specialist2", "coordinator", "county-doctor", "admin", "patient"]
    results = [_login(c, names[i % len(names)], f"guess-{i}").status_code for i in range(12)]
    assert results[:10] == [401] * 10  # address_free_failures: each account only 1-2 tries
    assert 429 in results[10:]
    # another address is not affected by this one
    assert _login(from_address("198.51.100.9"), "coordinator").status_code == 200


def test_the_owner_at_a_known_address_is_never_locked_out_by_attackers_elsewhere(
    from_address: Client, clock: FixedClock
) -> None:
    home = from_address("192.0.2.10")
    assert _login(home, "admin").status_code == 200  # home becomes a known address
    statuses = [
        _login(from_address(f"203.0.113.{i}"), "admin", f"guess-{i}").status_code
        for i in range(1, 21)
    ]
    assert statuses[:6] == [401] * 6 and set(statuses[6:]) <= {401, 429} and 429 in statuses
    # the account is closed to new addresses for now, open at the owner's own
    assert _login(from_address("203.0.113.99"), "admin").status_code == 429
    assert _login(home, "admin").status_code == 200
    # the owner's own typos at home only slow the owner there
    for _ in range(6):
        assert _login(home, "admin", "typo").status_code == 401
    assert _login(home, "admin").status_code == 429
    clock.advance(seconds=2)
    assert _login(home, "admin").status_code == 200


def test_unknown_usernames_are_throttled_like_known_ones(
    from_address: Client, clock: FixedClock
) -> None:
    def run(address: str, username: str) -> list[int]:
        c = from_address(address)
        return [_login(c, username, "wrong").status_code for _ in range(8)]

    assert run("198.51.100.20", "specialist2") == run("198.51.100.21", "nobody-here-at-all")


def test_the_unknown_user_path_runs_a_real_argon2_verification(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str, password: str) -> bool:
        calls.append(password)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    assert _login(client, "no-such-user", "pw-unknown").status_code == 401
    assert calls == ["pw-unknown"]
    assert _login(client, "specialist", "pw-known").status_code == 401
    assert calls == ["pw-unknown", "pw-known"]
    weird = _login(client, "x\x00" + "y" * 300, "pw-weird")  # not even a valid username
    assert weird.status_code == 401 and calls[-1] == "pw-weird"


def test_a_refusal_the_worker_already_knows_is_held_in_the_event_loop_first(
    app: FastAPI, from_address: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client hammering a throttled login gets its 429 only after a pause (bounded by the
    block itself and by how many wait at once), and a Retry-After counted from the answer."""
    import anyio

    from telemed.core.settings import get_settings

    sec = get_settings().security
    monkeypatch.setattr(sec, "login_refusal_delay_seconds", 0.25)
    paused: list[float] = []
    real_sleep = anyio.sleep

    async def spy(delay: float) -> None:
        paused.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr(anyio, "sleep", spy)
    c = from_address("198.51.100.30")
    for _ in range(6):
        assert _login(c, "specialist2", "wrong").status_code == 401
    assert paused == []  # failures are answered at once; the sixth started the block
    again = _login(c, "specialist2", "wrong")  # this worker knows: held, then refused
    assert again.status_code == 429 and again.json()["code"] == "login_throttled"
    assert len(paused) == 1 and 0.125 <= paused[0] <= 0.25  # jittered: half to all of it
    assert again.headers["Retry-After"] == "1"
    app.state.login_refused = {}  # a worker that has not seen it: the database says so
    told = _login(c, "specialist2", "wrong")  # and the refusal is held too, slot released
    assert told.status_code == 429 and told.json()["code"] == "login_throttled"
    assert len(paused) == 2 and 0.125 <= paused[1] <= 0.25 and app.state.login_refused
    monkeypatch.setattr(sec, "max_delayed_refusals", 0)  # no room to hold: answered at once
    assert _login(c, "specialist2", "wrong").status_code == 429 and len(paused) == 2
