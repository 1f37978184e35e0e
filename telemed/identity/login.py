"""Password login with throttling that protects accounts without locking their owners out.

Failures are counted in `telemed.core.throttle` (one table: every worker sees the same
counts), under keys chosen by where the attempt comes from:

- from an address the user logged in from before (a *known* address): only the pair
  `pair:<user>|<address>`: the owner's own mistakes slow the owner there, nobody else's;
- from anywhere else: the address (`addr:<address>`, which stops spraying across
  accounts) and the account (`acct:<user>`, which stops many addresses guessing one
  password); these never block a known address.

An unknown username goes through the same keys and a dummy argon2 verification, so
neither the timing nor the throttling tells which usernames exist.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from datetime import datetime, timedelta

from sqlalchemy import exists, false
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from telemed.core import throttle
from telemed.core.errors import Unauthorized
from telemed.core.settings import SecuritySettings
from telemed.identity.models import KnownLoginAddress, User
from telemed.identity.refusals import Block, Blocks
from telemed.identity.security import hash_password, needs_rehash, verify_dummy, verify_password

_PLAIN_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


# Known addresses (or usernames) a worker remembers with an account (or address) block;
# beyond this many it remembers only the pair (docs/operations.md).
MOST_SPARES = 64


class WrongCredentials(Unauthorized):
    code = "wrong_credentials"
    # what the failure just counted blocks (None: the next attempt is heard)
    blocks: Blocks | None = None


class LoginThrottled(throttle.Throttled):
    """429 login_throttled told by the database, with what blocks the attempt."""

    def __init__(self, wait: int, blocks: Blocks) -> None:
        super().__init__(
            f"too many failed logins; try again in {wait} s",
            code="login_throttled",
            retry_after=wait,
        )
        self.blocks = blocks


def address_key(address: str | None) -> str:
    """The throttled unit of a client address: the IPv4 address, the IPv6 /64."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def name_key(username: str) -> str:
    """The throttled unit of a username: itself if plain, else a digest."""
    if _PLAIN_USERNAME.match(username):
        return username
    return "#" + hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _backoffs(sec: SecuritySettings) -> dict[str, throttle.Backoff]:
    def kind(free: int) -> throttle.Backoff:
        return throttle.Backoff(
            free=free,
            base_seconds=sec.throttle_base_seconds,
            max_seconds=sec.throttle_max_seconds,
            forget_seconds=sec.throttle_forget_seconds,
        )

    return {
        "addr": kind(sec.address_free_failures),
        "acct": kind(sec.account_free_failures),
        "pair": kind(sec.account_free_failures),
    }


def _is_known(
    session: Session, user: User, address: str, now: datetime, sec: SecuritySettings
) -> bool:
    since = now - timedelta(days=sec.known_address_days)
    return (
        session.execute(
            select(KnownLoginAddress.user_id).where(
                KnownLoginAddress.user_id == user.id,
                KnownLoginAddress.address == address,
                col(KnownLoginAddress.last_login_at) >= since,
            )
        ).first()
        is not None
    )


def _remember(session: Session, user: User, address: str, now: datetime) -> None:
    table = KnownLoginAddress.__table__  # type: ignore[attr-defined]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(table)
        .values(user_id=user.id, address=address, last_login_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.address], set_={"last_login_at": now}
        )
    )


def throttle_keys(
    *,
    session: Session,
    user: User | None,
    username: str,
    address: str,
    now: datetime,
    sec: SecuritySettings,
) -> list[str]:
    """The counters an attempt on `username` from `address` is checked against."""
    name = name_key(username)
    if user is not None and _is_known(session, user, address, now, sec):
        return [f"pair:{name}|{address}"]
    return [f"addr:{address}", f"acct:{name}"]


def check_throttle(*, session: Session, keys: list[str], now: datetime) -> None:
    """Raise 429 `login_throttled` while any of `keys` is blocked."""
    wait = throttle.blocked_for(session=session, keys=keys, now=now)
    if wait:
        raise throttle.Throttled(
            f"too many failed logins; try again in {wait} s",
            code="login_throttled",
            retry_after=wait,
        )


def record_failures(
    *, session: Session, keys: list[str], now: datetime, sec: SecuritySettings
) -> int:
    """Count a failed attempt on every key (the caller commits, even though it answers 401);
    return the seconds the next attempt is now blocked for."""
    return max(_record_failures(session=session, keys=keys, now=now, sec=sec).values())


def _record_failures(
    *, session: Session, keys: list[str], now: datetime, sec: SecuritySettings
) -> dict[str, int]:
    backoffs = _backoffs(sec)
    return {
        key: throttle.record_failure(
            session=session, key=key, backoff=backoffs[key.split(":", 1)[0]], now=now
        )
        for key in keys
    }


def _attempt_state(
    session: Session, username: str, name: str, addr: str, now: datetime, sec: SecuritySettings
) -> tuple[list[str], dict[str, datetime]]:
    """One query: the keys an attempt counts on (is `addr` known for the user?) and those
    of them blocked, until when."""
    since = now - timedelta(days=sec.known_address_days)
    pair, by_addr, by_acct = f"pair:{name}|{addr}", f"addr:{addr}", f"acct:{name}"
    known = (
        exists()
        .where(
            col(KnownLoginAddress.user_id) == User.id,
            col(User.username) == username,
            col(KnownLoginAddress.address) == addr,
            col(KnownLoginAddress.last_login_at) >= since,
        )
        .correlate(None)
        if _PLAIN_USERNAME.match(username)
        else false()
    )

    def until(key: str):  # type: ignore[no-untyped-def]
        return (
            select(col(throttle.ThrottleCounter.blocked_until))
            .where(
                col(throttle.ThrottleCounter.key) == key,
                col(throttle.ThrottleCounter.blocked_until) > now,
            )
            .scalar_subquery()
        )

    row = session.execute(select(known, until(pair), until(by_addr), until(by_acct))).one()
    keys = [pair] if row[0] else [by_addr, by_acct]
    found = dict(zip([pair, by_addr, by_acct], row[1:], strict=True))
    return keys, {k: found[k] for k in keys if found[k] is not None}


def _spares(
    session: Session,
    username: str,
    addr: str,
    blocked: dict[str, datetime],
    now: datetime,
    sec: SecuritySettings,
) -> Blocks:
    """What the blocks of an attempt mean for others: an `acct:` block spares the
    addresses known for the account, an `addr:` block the users it is known for."""
    since = now - timedelta(days=sec.known_address_days)
    account = address = None
    fresh = col(KnownLoginAddress.last_login_at) >= since
    joined = col(KnownLoginAddress.user_id) == User.id
    for key, until in blocked.items():
        kind = key.split(":", 1)[0]
        if kind == "acct":
            names: list[str] = []
            if _PLAIN_USERNAME.match(username):
                names = list(
                    session.execute(
                        select(KnownLoginAddress.address)
                        .where(joined, col(User.username) == username, fresh)
                        .limit(MOST_SPARES + 1)
                    ).scalars()
                )
            if len(names) <= MOST_SPARES:
                account = Block(until=until, spares=frozenset(names))
        elif kind == "addr":
            users = list(
                session.execute(
                    select(User.username)
                    .where(joined, col(KnownLoginAddress.address) == addr, fresh)
                    .limit(MOST_SPARES + 1)
                ).scalars()
            )
            if len(users) <= MOST_SPARES:
                address = Block(until=until, spares=frozenset(users))
    return Blocks(until=max(blocked.values()), account=account, address=address)


def authenticate(
    *,
    session: Session,
    username: str,
    password: str,
    address: str | None,
    now: datetime,
    sec: SecuritySettings,
) -> User:
    """Check a password under the throttle; on success the address becomes known-good.

    A blocked attempt costs one query (and, for an account or address block, one more that
    lets the worker remember it for others: `telemed.identity.refusals`); nothing is
    written for it."""
    addr = address_key(address)
    name = name_key(username)
    keys, blocked = _attempt_state(session, username, name, addr, now, sec)
    if blocked:
        blocks = _spares(session, username, addr, blocked, now, sec)
        wait = max(math.ceil((u - now).total_seconds()) for u in blocked.values())
        raise LoginThrottled(wait, blocks)
    user = None
    if _PLAIN_USERNAME.match(username):
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.is_active:
        verify_dummy(password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok or user is None:
        wrong = WrongCredentials("wrong username or password")
        seconds = _record_failures(session=session, keys=keys, now=now, sec=sec)
        started = {k: now + timedelta(seconds=s) for k, s in seconds.items() if s}
        if started:
            wrong.blocks = _spares(session, username, addr, started, now, sec)
        raise wrong
    throttle.clear(session=session, keys=[f"pair:{name}|{addr}"])
    _remember(session, user, addr, now)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user
