"""Route of the network dashboard: coordinators and administrators only."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from telemed.core.deps import NowDep, SessionDep
from telemed.dashboard import service
from telemed.dashboard.schemas import NetworkDashboard
from telemed.identity.deps import require_roles
from telemed.identity.models import Role, User

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])

Coordinator = Annotated[User, Depends(require_roles(Role.COORDINATOR, Role.ADMIN))]


@router.get("/network", response_model=NetworkDashboard)
def network_dashboard(
    user: Coordinator,
    session: SessionDep,
    now: NowDep,
    start: Annotated[date | None, Query(description="first day (Asia/Shanghai)")] = None,
    end: Annotated[date | None, Query(description="last day, inclusive (Asia/Shanghai)")] = None,
) -> NetworkDashboard:
    """Per league: network hospitals, consultations by state with service-level compliance,
    referrals up/down with the closure rate; network totals and a per-day series.
    Aggregates only (no patient data). Default range: the last 30 days."""
    return service.network_dashboard(session=session, now=now, start=start, end=end)
