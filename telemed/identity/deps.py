"""Authentication dependencies: `CurrentUser` and role requirements."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden, Unauthorized
from telemed.core.throttle import Throttled
from telemed.identity import service
from telemed.identity.models import Role, User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


class PasswordChangeRequired(Forbidden):
    code, title = "password_change_required", "Password change required"


def any_current_user(session: SessionDep, token: TokenDep, now: NowDep, request: Request) -> User:
    """The caller, even one who still has to change their password."""
    if not token:
        raise Unauthorized("a bearer token is required")
    user = service.user_for_token(session=session, token=token, now=now)
    request.state.user = user
    return user


def current_user(user: Annotated[User, Depends(any_current_user)]) -> User:
    if user.must_change_password:
        raise PasswordChangeRequired(
            "change your password first (POST /api/v1/auth/password); "
            "until then this login allows nothing else"
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]
# Only for /auth/me, /auth/password and /auth/logout: a forced password change pending.
AnyCurrentUser = Annotated[User, Depends(any_current_user)]


async def hash_slot(request: Request, settings: SettingsDep) -> AsyncIterator[None]:
    """One of the worker's few password-hashing slots, waited for in the event loop before
    the request takes a database session: a flood of logins queues here (or is refused
    with 429 login_busy) instead of taking every thread and connection."""
    sec = settings.security
    slots: anyio.Semaphore | None = getattr(request.app.state, "hash_slots", None)
    if slots is None:
        slots = request.app.state.hash_slots = anyio.Semaphore(sec.max_concurrent_hashes)
    acquired = False
    with anyio.move_on_after(sec.login_queue_seconds):
        await slots.acquire()
        acquired = True
    if not acquired:
        raise Throttled(
            "the server is busy checking other passwords; try again shortly",
            code="login_busy",
            retry_after=max(1, math.ceil(sec.login_queue_seconds / 2)),
        )
    try:
        yield
    finally:
        slots.release()


HashSlot = Annotated[None, Depends(hash_slot, scope="function")]

_REFUSED_MAX = 10_000


def remember_refusal(request: Request, username: str, address: str | None, until: datetime) -> None:
    """Note in this worker that (username, address) is throttled until `until`, so that the
    next attempts are refused in the event loop, before a hash slot or a database session
    (the database stays the authority: this only short-cuts what it already said)."""
    refused: dict[tuple[str, str], datetime] = getattr(request.app.state, "login_refused", {})
    if len(refused) >= _REFUSED_MAX:
        refused = {k: v for k, v in refused.items() if v > until - timedelta(hours=1)}
        if len(refused) >= _REFUSED_MAX:
            refused.clear()
    refused[(username, address or "")] = until
    request.app.state.login_refused = refused


async def login_precheck(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], now: NowDep
) -> OAuth2PasswordRequestForm:
    """The login form, refused at once (429) while this worker knows it is throttled."""
    refused: dict[tuple[str, str], datetime] = getattr(request.app.state, "login_refused", {})
    until = refused.get((form.username, client_ip(request) or ""))
    if until is not None and until > now:
        wait = max(1, math.ceil((until - now).total_seconds()))
        raise Throttled(
            f"too many failed logins; try again in {wait} s",
            code="login_throttled",
            retry_after=wait,
        )
    return form


LoginForm = Annotated[OAuth2PasswordRequestForm, Depends(login_precheck)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """Dependency factory: the caller must hold one of `roles`."""

    def _check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(
                f"role {user.role!r} may not do this; allowed: {', '.join(r.value for r in roles)}"
            )
        return user

    return _check


AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]
StaffUser = Annotated[
    User,
    Depends(
        require_roles(
            Role.FAMILY_DOCTOR, Role.COUNTY_DOCTOR, Role.SPECIALIST, Role.COORDINATOR, Role.ADMIN
        )
    ),
]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientIP = Annotated[str | None, Depends(client_ip)]
