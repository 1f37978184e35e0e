"""Password hashing (argon2id, cost from settings) and opaque bearer tokens."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from telemed.core.settings import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")


@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher() -> PasswordHasher:
    """The argon2id hasher with the configured cost (TELEMED_SECURITY__ARGON2_*)."""
    sec = get_settings().security
    return _hasher_for(sec.argon2_time_cost, sec.argon2_memory_kib, sec.argon2_parallelism)


@lru_cache(maxsize=4)
def _dummy_hash(h: PasswordHasher) -> str:
    return h.hash(secrets.token_urlsafe(16))


def _lower_priority(nice: int) -> None:
    """Give the calling thread (Linux: niceness is per thread) `nice` more niceness."""
    if nice <= 0 or sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.nice(0) + nice)
    except OSError:
        log.warning("the password hashing thread keeps its priority", exc_info=True)


@lru_cache(maxsize=4)
def _hashing_threads(threads: int, nice: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=threads,
        thread_name_prefix="argon2",
        initializer=_lower_priority,
        initargs=(nice,),
    )


def _in_hashing_thread(fn: Callable[[], T]) -> T:
    """Run `fn` (an argon2 computation, a core's worth for ~20 ms) in one of the threads
    kept for hashing, at a lower CPU priority (TELEMED_SECURITY__HASH_NICENESS): when the
    cores are contended, as under a flood of logins, requests of other routes go first."""
    sec = get_settings().security
    if sec.hash_niceness <= 0:
        return fn()
    return _hashing_threads(sec.max_concurrent_hashes, sec.hash_niceness).submit(fn).result()


def hash_password(password: str) -> str:
    h = hasher()
    return _in_hashing_thread(lambda: h.hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    h = hasher()

    def verify() -> bool:
        try:
            return h.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return _in_hashing_thread(verify)


def verify_dummy(password: str) -> None:
    """Spend what a real verification costs, for logins of unknown or disabled users, so
    the answer's timing does not tell which usernames exist."""
    h = hasher()
    verify_password(_dummy_hash(h), password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than the configured ones."""
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def new_token() -> str:
    """A random bearer token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
