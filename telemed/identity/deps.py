"""Authentication dependencies: `CurrentUser` and role requirements."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, NoReturn

import anyio
from fastapi import Depends, Form, Request
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from telemed.core import clock
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden, Unauthorized
from telemed.core.settings import SecuritySettings
from telemed.core.throttle import Throttled
from telemed.identity import login as login_flow
from telemed.identity import service
from telemed.identity.models import Role, User
from telemed.identity.refusals import Blocks, RefusalMemory

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


async def _take_hash_slot(request: Request, sec: SecuritySettings) -> anyio.Semaphore:
    """Wait in the event loop for one of the worker's hash slots (429 login_busy after
    login_queue_seconds); the caller releases it."""
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
    return slots


@asynccontextmanager
async def _in_slot(
    request: Request, sec: SecuritySettings, slots: anyio.Semaphore
) -> AsyncIterator[None]:
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


async def hash_slot(request: Request, settings: SettingsDep) -> AsyncIterator[None]:
    """One of the worker's few password-hashing slots, waited for in the event loop before
    the request takes a database session: a flood of logins queues here (or is refused
    with 429 login_busy) instead of taking every thread and connection."""
    sec = settings.security
    slots = await _take_hash_slot(request, sec)
    async with _in_slot(request, sec, slots):
        yield


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
    """429 login_throttled for a login the database just refused, blocked `remaining` more
    seconds, answered after holding it `login_refusal_delay_seconds` (at most `remaining`)
    in the event loop: the hold costs nothing here, and a client hammering the route
    without honouring Retry-After gets one answer per hold per connection instead of
    hundreds a second."""
    held = await _hold_refusal(
        request, min(sec.login_refusal_delay_seconds, remaining), sec.max_delayed_refusals
    )
    _refuse(remaining - held)


def _refuse(remaining: float) -> NoReturn:
    wait = max(1, math.ceil(remaining))
    raise Throttled(
        f"too many failed logins; try again in {wait} s", code="login_throttled", retry_after=wait
    )


def refusal_memory(request: Request) -> RefusalMemory:
    """This worker's memory of the login blocks the database told it about."""
    memory: RefusalMemory | None = getattr(request.app.state, "login_refusals", None)
    if memory is None:
        memory = request.app.state.login_refusals = RefusalMemory(_REFUSED_MAX)
    return memory


def remember_refusal(request: Request, username: str, address: str | None, blocks: Blocks) -> None:
    """Note in this worker what the database said blocks (username, address), so that the
    next attempts it covers are refused in the event loop, before a hash slot or a database
    session (the database stays the authority: this only short-cuts what it already said)."""
    refusal_memory(request).remember(
        login_flow.name_key(username), login_flow.address_key(address), blocks
    )


def _known_refusal(request: Request, username: str) -> datetime | None:
    return refusal_memory(request).blocked_until(
        login_flow.name_key(username), login_flow.address_key(_client_ip(request)), clock.now()
    )


async def _refuse_if_known(request: Request, sec: SecuritySettings, username: str) -> None:
    """Refuse (429) an attempt this worker knows is blocked, after holding it half to all
    of `login_refusal_delay_seconds`, whatever is left of the block: a client refused just
    before its block ends must not come back exactly when it ends, with every other
    client of that block. If the block ended during the hold, return: the attempt is
    heard (the database decides)."""
    if _known_refusal(request, username) is None:
        return
    await _hold_refusal(request, sec.login_refusal_delay_seconds, sec.max_delayed_refusals)
    until = _known_refusal(request, username)
    if until is not None:
        _refuse((until - clock.now()).total_seconds())


async def login_precheck(
    request: Request,
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
    await _refuse_if_known(request, settings.security, username)
    return OAuth2PasswordRequestForm(
        grant_type=grant_type,
        username=username,
        password=password,
        scope=scope,
        client_id=client_id,
        client_secret=client_secret,
    )


LoginForm = Annotated[OAuth2PasswordRequestForm, Depends(login_precheck)]


async def login_slot(
    request: Request, settings: SettingsDep, form: LoginForm
) -> AsyncIterator[None]:
    """The hash slot of a login, and the worker's memory asked again once it is taken: what
    the database told another attempt while this one waited (an account blocked by the
    attempt before it in the queue) is refused here, the slot released first, without a
    session or a query."""
    sec = settings.security
    slots = await _take_hash_slot(request, sec)
    if _known_refusal(request, form.username) is not None:
        slots.release()
        await _refuse_if_known(request, sec, form.username)
        slots = await _take_hash_slot(request, sec)  # the block ended during the hold
    async with _in_slot(request, sec, slots):
        yield


LoginSlot = Annotated[None, Depends(login_slot, scope="function")]


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
