"""Limit/offset pagination with a total count."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.sql import Select
from sqlmodel import Session, select

T = TypeVar("T")

# The largest offset a list accepts: every SQL engine takes it as an integer (an unbounded
# one reached PostgreSQL as "bigint out of range").
MAX_OFFSET = 2**31 - 1
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]


class PageParams(BaseModel):
    limit: int = 50
    offset: int = 0


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
    offset: OffsetQuery = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    """One page of results."""

    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(session: Session, stmt: Select[Any], page: PageParams) -> tuple[list[Any], int]:
    """Run `stmt` for one page; return (rows, total)."""
    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.execute(stmt.limit(page.limit).offset(page.offset)).scalars().all()
    return list(rows), int(total.scalar_one())
