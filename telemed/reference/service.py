"""The ICD-10 catalogue: search, look-up and CSV import (upsert)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from telemed.core.errors import Invalid, NotFound
from telemed.reference.chapters import CHAPTERS, chapter_of
from telemed.reference.models import Icd10Code
from telemed.reference.schemas import Icd10Public, ImportResult

DATA_FILE = Path(__file__).resolve().parent / "data" / "icd10.csv"
# WHO ICD-10 shape: a letter, two digits (or digit + A/B for a few), optional .subdivision.
CODE = re.compile(r"^[A-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$")
MAX_QUERY = 50
MAX_LIMIT = 50


def public(row: Icd10Code) -> Icd10Public:
    ch = CHAPTERS.get(row.chapter)
    return Icd10Public(
        code=row.code,
        name_zh=row.name_zh,
        name_en=row.name_en,
        chapter=row.chapter,
        chapter_zh=ch.name_zh if ch else "",
        chapter_en=ch.name_en if ch else "",
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(*, session: Session, q: str, limit: int = 20) -> list[Icd10Public]:
    """Codes matching `q`: the exact code first, then codes starting with it, then codes whose
    Chinese or English name contains it; each group ordered by code."""
    text = q.strip()
    if not text:
        raise Invalid("type a code or part of a diagnosis name", field="q")
    if len(text) > MAX_QUERY:
        raise Invalid(f"at most {MAX_QUERY} characters", field="q")
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be 1..{MAX_LIMIT}", field="limit")
    code = text.upper()
    prefix = _like_escape(code) + "%"
    inside = "%" + _like_escape(text) + "%"
    by_code = col(Icd10Code.code).like(prefix, escape="\\")
    by_name = or_(
        col(Icd10Code.name_zh).ilike(inside, escape="\\"),
        col(Icd10Code.name_en).ilike(inside, escape="\\"),
    )
    rank = case((col(Icd10Code.code) == code, 0), (by_code, 1), else_=2)
    rows = session.execute(
        select(Icd10Code).where(or_(by_code, by_name)).order_by(rank, Icd10Code.code).limit(limit)
    ).scalars()
    return [public(r) for r in rows]


def get(*, session: Session, code: str) -> Icd10Public:
    row = session.get(Icd10Code, code.strip().upper())
    if row is None:
        raise NotFound(f"ICD-10 code {code!r} is not in the catalogue")
    return public(row)


def known(*, session: Session, codes: Iterable[str]) -> set[str]:
    """Those of `codes` that are in the catalogue."""
    wanted = {c.strip().upper() for c in codes}
    if not wanted:
        return set()
    return set(
        session.execute(
            select(col(Icd10Code.code)).where(col(Icd10Code.code).in_(wanted))
        ).scalars()
    )


def names(*, session: Session, codes: Iterable[str]) -> dict[str, Icd10Public]:
    """The catalogue entries of those of `codes` it holds, by code (one query)."""
    wanted = {c.strip().upper() for c in codes}
    if not wanted:
        return {}
    rows = session.execute(select(Icd10Code).where(col(Icd10Code.code).in_(wanted))).scalars()
    return {r.code: public(r) for r in rows}


def count(*, session: Session) -> int:
    return session.execute(select(func.count()).select_from(Icd10Code)).scalar_one()


def parse_csv(text: str) -> list[dict[str, str]]:
    """Rows of a catalogue CSV (header `code,name_zh,name_en[,chapter]`), checked.

    Raises Invalid naming the line of the first bad row; nothing is written then."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"code", "name_zh", "name_en"} - set(reader.fieldnames or ())
    if missing:
        raise Invalid(f"CSV header lacks {', '.join(sorted(missing))}", field="file")
    rows: dict[str, dict[str, str]] = {}
    for line, raw in enumerate(reader, start=2):
        code = (raw.get("code") or "").strip().upper()
        name_zh = (raw.get("name_zh") or "").strip()
        name_en = (raw.get("name_en") or "").strip()
        chapter = (raw.get("chapter") or "").strip().upper()
        if not CODE.match(code):
            raise Invalid(f"line {line}: {code!r} is not an ICD-10 code", field="file")
        if not name_zh or len(name_zh) > 200 or len(name_en) > 300:
            raise Invalid(f"line {line}: name_zh is required (names ≤ 200/300)", field="file")
        derived = chapter_of(code)
        if derived is None or (chapter and chapter != derived):
            raise Invalid(
                f"line {line}: {code} is in chapter {derived}, not {chapter}", field="file"
            )
        rows[code] = {"code": code, "name_zh": name_zh, "name_en": name_en, "chapter": derived}
    return list(rows.values())


def upsert(
    *,
    session: Session,
    rows: Iterable[Mapping[str, str]],
    now: datetime,
    overwrite: bool = True,
) -> ImportResult:
    """Insert new codes and (with `overwrite`) update the names of known ones. Codes are
    never deleted: signed opinions and referrals keep pointing at them."""
    items = list(rows)
    if not items:
        return ImportResult(created=0, updated=0, unchanged=0)
    existing = {
        r.code: r
        for r in session.execute(
            select(Icd10Code).where(col(Icd10Code.code).in_([i["code"] for i in items]))
        ).scalars()
    }
    created = updated = unchanged = 0
    changed: list[dict[str, object]] = []
    for i in items:
        old = existing.get(i["code"])
        if old is None:
            created += 1
        elif not overwrite or (old.name_zh, old.name_en, old.chapter) == (
            i["name_zh"],
            i["name_en"],
            i["chapter"],
        ):
            unchanged += 1
            continue
        else:
            updated += 1
        changed.append({**i, "updated_at": now})
    for start in range(0, len(changed), 500):
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(Icd10Code).values(changed[start : start + 500])
        stmt = stmt.on_conflict_do_update(
            index_elements=["code"],
            set_={
                "name_zh": stmt.excluded.name_zh,
                "name_en": stmt.excluded.name_en,
                "chapter": stmt.excluded.chapter,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        session.execute(stmt)
    session.expire_all()
    session.flush()
    return ImportResult(created=created, updated=updated, unchanged=unchanged)


def import_csv(*, session: Session, text: str, now: datetime) -> ImportResult:
    return upsert(session=session, rows=parse_csv(text), now=now)


def load_catalogue(*, session: Session, now: datetime) -> ImportResult:
    """Add the codes of the starter catalogue (`data/icd10.csv`) that are missing; names an
    admin imported since are kept (idempotent, runs on every `telemed seed`)."""
    rows = parse_csv(DATA_FILE.read_text(encoding="utf-8"))
    return upsert(session=session, rows=rows, now=now, overwrite=False)
