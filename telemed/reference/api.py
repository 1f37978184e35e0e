"""Routes of the reference data: ICD-10 search for any signed-in user, import for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from telemed.core.deps import NowDep, SessionDep
from telemed.identity.deps import AdminUser, CurrentUser
from telemed.reference import service
from telemed.reference.schemas import Icd10Public, ImportResult

router = APIRouter(prefix="/api/v1/reference", tags=["reference"])


@router.get("/icd10", response_model=list[Icd10Public])
def icd10_search(
    session: SessionDep,
    user: CurrentUser,
    q: Annotated[str, Query(description="code prefix (i21) or part of the Chinese/English name")],
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 20,
) -> list[Icd10Public]:
    """Exact code first, then codes starting with `q`, then name matches; by code."""
    return service.search(session=session, q=q, limit=limit)


@router.get("/icd10/{code}", response_model=Icd10Public)
def icd10_get(session: SessionDep, user: CurrentUser, code: str) -> Icd10Public:
    return service.get(session=session, code=code)


@router.post("/icd10/import", response_model=ImportResult)
def icd10_import(
    session: SessionDep,
    user: AdminUser,
    now: NowDep,
    body: Annotated[
        str, Body(media_type="text/csv", description="CSV: code,name_zh,name_en[,chapter]")
    ],
) -> ImportResult:
    """Upsert codes from a CSV (admin). Names of known codes are updated; none are deleted."""
    return service.import_csv(session=session, text=body, now=now)
