"""Routes of the network dashboard: coordinators and administrators only."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from telemed.core import audit
from telemed.core.deps import NowDep, SessionDep
from telemed.dashboard import export, service, utilization
from telemed.dashboard.schemas import NetworkDashboard, UtilizationDashboard
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


@router.get(
    "/utilization",
    response_model=UtilizationDashboard,
    responses={200: {"content": {"text/csv": {}}}},
)
def utilization_dashboard(
    request: Request,
    user: Coordinator,
    session: SessionDep,
    now: NowDep,
    from_week: Annotated[str | None, Query(description="first ISO week, e.g. 2026-W46")] = None,
    to_week: Annotated[str | None, Query(description="last ISO week, inclusive")] = None,
    league: Annotated[str | None, Query(description="league code")] = None,
    alliance: Annotated[str | None, Query(description="alliance code")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
) -> UtilizationDashboard | Response:
    """Per hospital, specialty and ISO week: slots offered/booked/used/no-shows, consultation
    decisions and median times, referrals received and their closure; this week's overloaded
    specialists; alliances sending work outside. Aggregates only (no patient data).
    `?format=csv` or `Accept: text/csv`: the rows as CSV (UTF-8 with BOM), the export audited."""
    board = utilization.utilization(
        session=session,
        now=now,
        from_week=from_week,
        to_week=to_week,
        league=league,
        alliance=alliance,
    )
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    if not wants_csv:
        return board
    audit.record(
        session=session,
        actor_id=user.id,
        actor_role=user.role,
        action="export",
        object_type="utilization",
        object_id=f"{board.from_week}..{board.to_week}",
        detail={"league": league, "alliance": alliance, "rows": len(board.rows)},
        at=now,
    )
    return Response(
        content=export.utilization_csv(board).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename(board)}"'},
    )
