"""Marks on a request's whole-slide images (points and rectangles with a text), kept on the
draft opinion: they freeze with it and its signature covers them (docs/imaging.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session

from telemed.consultations.attachments import studies
from telemed.consultations.opinions import draft_of, opinion_for
from telemed.consultations.schemas import SlideAnnotation
from telemed.consultations.steps import record, step
from telemed.core.errors import Invalid
from telemed.identity.models import User


def save_annotations(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    items: list[SlideAnnotation],
    now: datetime,
) -> list[dict[str, Any]]:
    """Replace the draft's annotations (assigned specialist; the draft is begun if needed).
    Every mark must be on a study linked to the request, the ids unique."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="write_opinion")
    linked = {s.study_uid for s in studies(session=session, consultation_id=c.id)}
    for n, item in enumerate(items):
        if item.study_uid not in linked:
            raise Invalid(
                "an annotation must be on a study linked to this request",
                field=f"items[{n}].study_uid",
                code="study_not_linked",
            )
    if len({i.id for i in items}) != len(items):
        raise Invalid("annotation ids must be unique", field="items", code="duplicate_id")
    draft = draft_of(session, c, by, now)
    draft.annotations = [i.model_dump(mode="json") for i in items]
    draft.updated_at = now
    session.flush()
    record(
        session,
        by,
        "write_annotations",
        c,
        now=now,
        detail={"version": draft.version, "count": len(items)},
    )
    return draft.annotations


def annotations_of(
    *, session: Session, consultation_id: uuid.UUID, by: User
) -> list[dict[str, Any]]:
    """The annotations of the opinion the caller may read: the latest signed one, or the
    author's draft (404 without an opinion)."""
    return list(opinion_for(session=session, consultation_id=consultation_id, by=by).annotations)
