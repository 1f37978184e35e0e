"""Authentication dependencies: `CurrentUser` and role requirements."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, NoReturn

import anyio
from fastapi import Depends, Form, Request
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden, Unauthorized
from telemed.core.settings import SecuritySettings
from telemed.core.throttle import Throttled
from telemed.identity import service
from telemed.identity.models import Role, User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


def any_current_user(session: SessionDep, token: TokenDep, now: NowDep, request: Request) -> User:
    """The caller, even one who still has to change their password."""
    if not token:
        raise Unauthorized("a bearer token is required")
    user = service.user_for_token(session=session, token=token, now=now)
    request.state.user = user
    return user


async def current_user(user: Annotated[User, Depends(any_current_user)]) -> User:
    """The caller, refused (403 password_change_required) while a forced change is pending."""
    return service.ensure_password_changed(user)


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
    released = False
    try:
        yield
    except Throttled as exc:
        if exc.code != "login_throttled":
            raise
        # Told by the database: the slot (and the session) go back first, then the hold.
        slots.release()
        released = True
        await refuse_throttled(request, sec, float(exc.retry_after))
    finally:
        if not released:
            slots.release()


HashSlot = Annotated[None, Depends(hash_slot, scope="function")]

_REFUSED_MAX = 10_000


async def _hold_refusal(request: Request, seconds: float, most: int) -> float:
    """Pause a refusal for between half and all of `seconds` (at random: clients refused
    together must not come back together, or their answers leave in one burst that stalls
    the event loop) unless `most` refusals of this worker already wait; return the pause."""
    state = request.app.state
    held: int = getattr(state, "refusals_held", 0)
    if seconds <= 0 or held >= most:
        return 0.0
    seconds *= random.uniform(0.5, 1.0)
    state.refusals_held = held + 1
    try:
        await anyio.sleep(seconds)
    finally:
        state.refusals_held -= 1
    return seconds


async def refuse_throttled(request: Request, sec: SecuritySettings, remaining: float) -> NoReturn:
    """429 login_throttled for a login blocked `remaining` more seconds, answered after
    holding it `login_refusal_delay_seconds` (at most `remaining`) in the event loop: the
    hold costs nothing here, and a client hammering the route without honouring
    Retry-After gets one answer per hold per connection instead of hundreds a second."""
    held = await _hold_refusal(
        request, min(sec.login_refusal_delay_seconds, remaining), sec.max_delayed_refusals
    )
    wait = max(1, math.ceil(remaining - held))
    raise Throttled(
        f"too many failed logins; try again in {wait} s", code="login_throttled", retry_after=wait
    )


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
    request: Request,
    now: NowDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form(json_schema_extra={"format": "password"})],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
    scope: Annotated[str, Form()] = "",
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form(json_schema_extra={"format": "password"})] = None,
) -> OAuth2PasswordRequestForm:
    """The OAuth2 password form, refused (429) while this worker knows it is throttled.

    A coroutine taking the form's fields (FastAPI would build `OAuth2PasswordRequestForm`
    in a worker thread: a thread hop per attempt); the refusal is held first
    (`refuse_throttled`)."""
    refused: dict[tuple[str, str], datetime] = getattr(request.app.state, "login_refused", {})
    until = refused.get((username, _client_ip(request) or ""))
    if until is not None and until > now:
        await refuse_throttled(request, settings.security, (until - now).total_seconds())
    return OAuth2PasswordRequestForm(
        grant_type=grant_type,
        username=username,
        password=password,
        scope=scope,
        client_id=client_id,
        client_secret=client_secret,
    )


LoginForm = Annotated[OAuth2PasswordRequestForm, Depends(login_precheck)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """Dependency factory: the caller must hold one of `roles`."""

    async def _check(user: CurrentUser) -> User:
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


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def client_ip(request: Request) -> str | None:
    """The caller's address (behind a proxy: as uvicorn's --forwarded-allow-ips takes it)."""
    return _client_ip(request)


ClientIP = Annotated[str | None, Depends(client_ip)]
