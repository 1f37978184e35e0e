"""Authentication dependencies: `CurrentUser` and role requirements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from telemed.core.deps import NowDep, SessionDep
from telemed.core.errors import Forbidden, Unauthorized
from telemed.identity import service
from telemed.identity.models import Role, User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


def current_user(session: SessionDep, token: TokenDep, now: NowDep, request: Request) -> User:
    if not token:
        raise Unauthorized("a bearer token is required")
    user = service.user_for_token(session=session, token=token, now=now)
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


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
