"""Password hashing (argon2id, cost from settings) and opaque bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from telemed.core.settings import get_settings


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


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
