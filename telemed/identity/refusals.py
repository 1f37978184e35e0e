"""What one worker remembers of the login blocks the database told it about.

The database (`telemed.core.throttle`) is the authority; this memory only lets a worker
refuse, without a hash slot, a session or a thread, what the database already refused:

- a (username, address) pair, until the block the database gave for that attempt ends;
- an *account* blocked by its `acct:` key, from every address except those known for it
  when the database refused (`spares`: while the account is blocked, no new address can
  become known for it, a success from an unknown address being refused);
- an *address* blocked by its `addr:` key, for every username except those for which the
  address was known then (the same reasoning).

So 50 addresses guessing one blocked account cost the database one refusal, not 50.
Everything it does not remember goes to the database, which is always the safe side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

__all__ = ["Block", "Blocks", "RefusalMemory"]

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Block:
    """A key blocked until `until`, except for the names or addresses in `spares`."""

    until: datetime
    spares: frozenset[str]


@dataclass(frozen=True)
class Blocks:
    """What the database said of one attempt (name key, address key): until when the
    attempt itself is blocked, and the account and address blocks behind it, if any (None:
    that key does not block, or its spares were too many to remember)."""

    until: datetime
    account: Block | None = None
    address: Block | None = None


class RefusalMemory:
    """Per-worker, bounded: each map keeps at most `most` entries (the longest-lasting)."""

    def __init__(self, most: int = 10_000) -> None:
        self.most = most
        self.pairs: dict[tuple[str, str], datetime] = {}
        self.accounts: dict[str, Block] = {}
        self.addresses: dict[str, Block] = {}

    def blocked_until(self, name: str, address: str, now: datetime) -> datetime | None:
        """Until when this worker knows an attempt on `name` from `address` is refused."""
        found = [self.pairs.get((name, address))]
        account = self.accounts.get(name)
        if account is not None and address not in account.spares:
            found.append(account.until)
        held = self.addresses.get(address)
        if held is not None and name not in held.spares:
            found.append(held.until)
        return max((u for u in found if u is not None and u > now), default=None)

    def remember(self, name: str, address: str, blocks: Blocks) -> None:
        self.pairs = _put(self.pairs, (name, address), blocks.until, self.most, lambda v: v)
        if blocks.account is not None:
            self.accounts = _put(self.accounts, name, blocks.account, self.most, _until)
        if blocks.address is not None:
            self.addresses = _put(self.addresses, address, blocks.address, self.most, _until)

    def forget(self) -> None:
        self.pairs.clear()
        self.accounts.clear()
        self.addresses.clear()


def _until(block: Block) -> datetime:
    return block.until


def _put(
    table: dict[K, V], key: K, value: V, most: int, until: Callable[[V], datetime]
) -> dict[K, V]:
    """`table` with `key` set; when full, first drop what ends well before `value`."""
    if key not in table and len(table) >= most:
        end = until(value)
        table = {k: v for k, v in table.items() if until(v) > end - timedelta(hours=1)}
        if len(table) >= most:
            table = {}
    table[key] = value
    return table
