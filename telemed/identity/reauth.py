"""Re-authentication (再次验证身份) before an act that binds the signer: the caller's own
password, checked under the same throttle as a login (`telemed.identity.login`).

A wrong password counts as a failed login on the caller's keys; the count is written after
the request's rollback (`telemed.core.db.after_rollback`), so the refused act leaves nothing
behind but the counter and its audit row."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from telemed.core.db import after_rollback
from telemed.core.errors import Forbidden
from telemed.core.settings import SecuritySettings
from telemed.identity import login
from telemed.identity.models import User
from telemed.identity.security import verify_password

__all__ = ["ReauthenticationFailed", "ReauthenticationRequired", "reauthenticate"]


class ReauthenticationRequired(Forbidden):
    """403: the act needs the caller's password, and none was sent."""

    code = "reauthentication_required"


class ReauthenticationFailed(Forbidden):
    """403: the password sent is not the caller's."""

    code = "reauthentication_failed"


def reauthenticate(
    *,
    session: Session,
    user: User,
    password: str | None,
    address: str | None,
    now: datetime,
    sec: SecuritySettings,
) -> None:
    """Check `password` is `user`'s; 403 without it or when wrong, 429 while throttled."""
    if not password:
        raise ReauthenticationRequired(
            "this needs your password", errors=[{"field": "password", "message": "required"}]
        )
    keys = login.throttle_keys(
        session=session,
        user=user,
        username=user.username,
        address=login.address_key(address),
        now=now,
        sec=sec,
    )
    login.check_throttle(session=session, keys=keys, now=now)
    if verify_password(user.password_hash, password):
        return

    def count(s: Session) -> None:
        login.record_failures(session=s, keys=keys, now=now, sec=sec)

    after_rollback(session, count)
    raise ReauthenticationFailed(
        "the password is wrong", errors=[{"field": "password", "message": "wrong password"}]
    )
