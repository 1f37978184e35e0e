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
    app.state.login_refusals.forget()  # a worker that has not seen it: the database says so
    told = _login(c, "specialist2", "wrong")  # and the refusal is held too, slot released
    assert told.status_code == 429 and told.json()["code"] == "login_throttled"
    assert len(paused) == 2 and 0.125 <= paused[1] <= 0.25 and app.state.login_refusals.pairs
    monkeypatch.setattr(sec, "max_delayed_refusals", 0)  # no room to hold: answered at once
    assert _login(c, "specialist2", "wrong").status_code == 429 and len(paused) == 2


@pytest.fixture
def db_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The usernames of the attempts that reached the database's throttle check."""
    from telemed.identity import login as login_flow

    seen: list[str] = []
    original = login_flow._attempt_state

    def spy(session, username, *args):  # type: ignore[no-untyped-def]
        seen.append(username)
        return original(session, username, *args)

    monkeypatch.setattr(login_flow, "_attempt_state", spy)
    return seen


def test_an_account_block_is_remembered_for_every_address_but_the_owners(
    from_address: Client, clock: FixedClock, db_checks: list[str]
) -> None:
    """Many addresses on one blocked account cost the database one refusal, not one each;
    the owner's known address is still heard, and the memory ends with the block."""
    home = from_address("192.0.2.40")
    assert _login(home, "coordinator").status_code == 200
    for i in range(6):  # 5 free failures, the sixth starts a 1 s block of the account
        assert _login(from_address(f"203.0.113.{100 + i}"), "coordinator", "x").status_code == 401
    del db_checks[:]
    first = _login(from_address("203.0.113.120"), "coordinator", "x")
    assert first.status_code == 429 and first.json()["code"] == "login_throttled"
    assert db_checks == []  # the sixth failure's block was remembered for the account
    clock.advance(seconds=1.5)
    assert _login(from_address("203.0.113.121"), "coordinator", "x").status_code == 401
    assert db_checks == ["coordinator"]  # the seventh failure: blocked 2 s
    for i in range(10):
        r = _login(from_address(f"203.0.113.{130 + i}"), "coordinator", "telemed-demo")
        assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert db_checks == ["coordinator"]  # none of these ten reached the database
    # the owner at home: not covered by the memory, heard by the database, logged in
    assert _login(home, "coordinator").status_code == 200
    assert db_checks == ["coordinator", "coordinator"]
    # other accounts from those addresses are not covered
    assert _login(from_address("203.0.113.130"), "specialist").status_code == 200
    clock.advance(seconds=2.5)  # the block ended: the database hears the next attempt
    assert _login(from_address("203.0.113.140"), "coordinator").status_code == 200


def test_an_address_block_is_remembered_for_every_account_not_known_there(
    from_address: Client, clock: FixedClock, db_checks: list[str]
) -> None:
    nat = from_address("198.51.100.60")
    assert _login(nat, "specialist2").status_code == 200  # a colleague behind the same NAT
    names = ["admin", "coordinator", "county-doctor", "patient", "nobody-1", "nobody-2"]
    results = [_login(nat, names[i % len(names)], f"guess-{i}").status_code for i in range(11)]
    assert results == [401] * 11  # the eleventh failure starts the address's block
    del db_checks[:]
    refused = [_login(nat, n, "guess").status_code for n in ["specialist", "nobody-3", *names]]
    assert refused == [429] * 8 and db_checks == []  # sprayed usernames: none reach it
    assert _login(nat, "specialist2").status_code == 200  # known there: heard, let in
    assert db_checks == ["specialist2"]


def test_a_login_waiting_for_the_hash_slot_asks_the_memory_again(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attempts queued behind one whose failure blocked the account are refused once they
    get the slot, from memory, giving the slot back at once (no session, no query)."""
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    import anyio
    from fastapi.security import OAuth2PasswordRequestForm

    from telemed.core.settings import get_settings
    from telemed.core.throttle import Throttled
    from telemed.identity.deps import login_slot, refusal_memory
    from telemed.identity.refusals import Block, Blocks

    settings = get_settings()
    monkeypatch.setattr(settings.security, "login_refusal_delay_seconds", 0)
    request = SimpleNamespace(app=app, client=SimpleNamespace(host="203.0.113.200"))
    form = OAuth2PasswordRequestForm(username="admin", password="x")
    outcome: list[str] = []

    async def queued() -> None:
        try:
            async for _ in login_slot(request, settings, form):  # type: ignore[arg-type]
                outcome.append("slot taken")
        except Throttled as exc:
            outcome.append(exc.code)

    async def main() -> None:
        slots = app.state.hash_slots = anyio.Semaphore(1)
        await slots.acquire()  # an earlier attempt is checking its password
        async with anyio.create_task_group() as tg:
            tg.start_soon(queued)
            await anyio.sleep(0.05)
            assert outcome == []  # waiting for the slot
            until = datetime.now(UTC) + timedelta(seconds=30)
            blocks = Blocks(until=until, account=Block(until=until, spares=frozenset()))
            refusal_memory(request).remember("admin", "203.0.113.7", blocks)  # type: ignore[arg-type]
            slots.release()  # that attempt failed and blocked the account
        assert outcome == ["login_throttled"] and slots.value == 1

    anyio.run(main)


def test_a_remembered_refusal_whose_block_ends_during_the_hold_is_heard(
    from_address: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hold of a refusal the worker remembers is not cut to the end of the block (the
    clients of one block would all come back at that instant): if the block ends during
    it, the attempt is heard instead of refused."""
    import anyio

    from telemed.core.settings import get_settings

    monkeypatch.setattr(get_settings().security, "login_refusal_delay_seconds", 4)
    paused: list[float] = []

    async def sleep(delay: float) -> None:  # the hold passes on the test's clock
        paused.append(delay)
        clock.advance(seconds=delay)

    monkeypatch.setattr(anyio, "sleep", sleep)
    c = from_address("198.51.100.70")
    for _ in range(6):
        assert _login(c, "county-doctor", "wrong").status_code == 401  # blocked 1 s now
    assert _login(c, "county-doctor").status_code == 200  # held 2-4 s, then heard
    assert len(paused) == 1 and 2 <= paused[0] <= 4


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="Linux only")
def test_passwords_are_checked_in_a_thread_of_lower_cpu_priority(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a flood of logins the cores go first to the other requests: argon2 runs in
    a hashing thread niced by TELEMED_SECURITY__HASH_NICENESS (10), the request's own
    thread keeps its priority."""
    import os
    import threading

    seen: list[tuple[str, int]] = []
    original = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str, password: str) -> bool:
        tid = threading.get_native_id()
        seen.append((threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, tid)))
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert _login(client, "specialist", "wrong-one").status_code == 401
    assert _login(client, "nobody-at-all", "wrong-two").status_code == 401  # the dummy check
    assert [name.startswith("argon2") for name, _ in seen] == [True, True]
    assert {nice for _, nice in seen} == {min(19, base + 10)}
