"""An opinion as its readers see it: the signed row plus who signed it (name, title (职称),
hospital) and the names of its ICD-10 codes from the reference catalogue."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from telemed.consultations.models import Opinion
from telemed.consultations.schemas import Diagnosis, OpinionPublic, OpinionSigner
from telemed.identity.models import User
from telemed.network.models import Institution
from telemed.reference import service as reference_service

__all__ = ["diagnoses", "opinion_public", "opinions_public", "signer_of"]


def diagnoses(session: Session, codes: Sequence[str]) -> list[Diagnosis]:
    """`codes` in order with their catalogue names (empty names for an uncatalogued code)."""
    known = reference_service.names(session=session, codes=codes)
    return [
        Diagnosis(
            code=code,
            name_zh=known[code].name_zh if code in known else "",
            name_en=known[code].name_en if code in known else "",
        )
        for code in codes
    ]


def signer_of(session: Session, op: Opinion) -> OpinionSigner | None:
    """The author of a signed opinion with their hospital; None while it is a draft."""
    if op.signed_at is None:
        return None
    author = session.get(User, op.author_id)
    if author is None:
        return None
    hospital = session.get(Institution, author.institution_id) if author.institution_id else None
    return OpinionSigner(
        id=author.id,
        full_name=author.full_name,
        title=author.title,
        institution_id=author.institution_id,
        institution_name=hospital.name_zh if hospital else None,
        institution_name_en=hospital.name_en if hospital else None,
    )


def opinion_public(session: Session, op: Opinion) -> OpinionPublic:
    """The API shape of `op`, with its signer and named diagnoses."""
    out = OpinionPublic.model_validate(op)
    out.signer = signer_of(session, op)
    out.diagnoses = diagnoses(session, op.icd10 or [])
    return out


def opinions_public(session: Session, ops: Sequence[Opinion]) -> list[OpinionPublic]:
    return [opinion_public(session, op) for op in ops]
