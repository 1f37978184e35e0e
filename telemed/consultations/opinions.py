"""The specialist's opinion: drafts, signing (Ed25519 over the canonical JSON), corrections
as new signed versions, and verification against the published key."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, col, select

from telemed.consultations import policy, signing
from telemed.consultations.messages import notify
from telemed.consultations.models import Consultation, Opinion
from telemed.consultations.schemas import OpinionCorrection, OpinionWrite, VerifyResult
from telemed.consultations.steps import load_visible, log, record, step, transition
from telemed.core import audit
from telemed.core.errors import Conflict, NotFound
from telemed.core.settings import Settings
from telemed.identity import service as identity_service
from telemed.identity.models import User

# Called in the signing transaction after an opinion (or a correction) is signed, with
# keyword arguments session, consultation, opinion, signer, settings, now (registered by
# `telemed.wiring`: imaging writes the opinion as DICOM SR into the linked studies).
OnSigned = Callable[..., object]
ON_SIGNED: list[OnSigned] = []


def register_on_signed(fn: OnSigned) -> None:
    if fn not in ON_SIGNED:
        ON_SIGNED.append(fn)


def _signed(
    session: Session, c: Consultation, op: Opinion, by: User, now: datetime, settings: Settings
) -> None:
    for fn in ON_SIGNED:
        fn(session=session, consultation=c, opinion=op, signer=by, settings=settings, now=now)


def _opinions(session: Session, consultation_id: uuid.UUID) -> list[Opinion]:
    return list(
        session.execute(
            select(Opinion)
            .where(Opinion.consultation_id == consultation_id)
            .order_by(col(Opinion.version))
        ).scalars()
    )


def save_draft(
    *, session: Session, consultation_id: uuid.UUID, by: User, data: OpinionWrite, now: datetime
) -> Opinion:
    """Write or rewrite the unsigned opinion of the assigned specialist."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="write_opinion")
    draft = draft_of(session, c, by, now)
    _fill(draft, data)
    draft.updated_at = now
    session.flush()
    record(session, by, "write_opinion", c, now=now, detail={"version": draft.version})
    return draft


def draft_of(session: Session, c: Consultation, by: User, now: datetime) -> Opinion:
    """The unsigned opinion of the request, begun (empty) when there is none."""
    versions = _opinions(session, c.id)
    if versions and versions[-1].signed_at is None:
        return versions[-1]
    draft = Opinion(
        consultation_id=c.id,
        version=len(versions) + 1,
        author_id=by.id,
        findings="",
        impression="",
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    return draft


def _fill(op: Opinion, data: OpinionWrite) -> None:
    op.findings = data.findings
    op.impression = data.impression
    op.icd10 = list(data.icd10)
    op.recommendations = data.recommendations
    op.referral_advice = data.referral_advice.model_dump(mode="json")
    op.ecg_measurements = (
        data.ecg_measurements.model_dump(mode="json") if data.ecg_measurements else None
    )


def _seal(
    session: Session, c: Consultation, op: Opinion, by: User, now: datetime, settings: Settings
) -> None:
    key = signing.ensure_key(
        session=session, user_id=by.id, secret=settings.security.secret_key, now=now
    )
    signed_at = now.replace(microsecond=0)
    op.key_id = key.id
    canonical = signing.canonical_json(
        signing.signed_content(op, patient_id=c.patient_id, signed_at=signed_at)
    )
    op.canonical = canonical
    op.signature = signing.sign(key, canonical, secret=settings.security.secret_key)
    op.signed_at = signed_at
    op.updated_at = now
    session.flush()


def sign(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    now: datetime,
    settings: Settings,
    password: str | None = None,
    address: str | None = None,
    signer_verified: bool = False,
) -> Opinion:
    """Sign the draft, the signer re-authenticated by `password` (from `address`): it
    freezes, and the request becomes `reported`. `signer_verified` skips the password for
    callers that act as the signer themselves (the demo's replay); the API never sets it."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="report")
    versions = _opinions(session, c.id)
    if not versions or versions[-1].signed_at is not None:
        raise Conflict("there is no draft opinion to sign", code="no_draft")
    op = versions[-1]
    if op.author_id != by.id:
        raise Conflict("only the author signs an opinion", code="not_author")
    if not (op.findings and op.impression):  # begun by annotating a slide, never written
        raise Conflict("the draft has no findings or impression yet", code="opinion_incomplete")
    if not signer_verified:
        _reauthenticated(session, c, by, password, address, now, settings)
    _seal(session, c, op, by, now, settings)
    c.reported_at = now
    transition(session, c, "report", by=by, now=now, data={"opinion_version": op.version})
    notify(session, {c.requesting_doctor_id}, c, "reported", now)
    _signed(session, c, op, by, now, settings)
    return op


def _reauthenticated(
    session: Session,
    c: Consultation,
    by: User,
    password: str | None,
    address: str | None,
    now: datetime,
    settings: Settings,
) -> None:
    """The signer's password, checked like a login; a refusal is audited on the request."""
    try:
        identity_service.reauthenticate(
            session=session,
            user=by,
            password=password,
            address=address,
            now=now,
            sec=settings.security,
        )
    except identity_service.ReauthenticationFailed as exc:
        audit.refused(
            session,
            by,
            object_type="consultation",
            object_id=c.id,
            reason=f"{exc.code}: {exc.detail}",
            patient_id=c.patient_id,
        )
        raise


def correct(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    data: OpinionCorrection,
    now: datetime,
    settings: Settings,
    address: str | None = None,
) -> Opinion:
    """A correction: a new signed version that supersedes the last; nothing signed changes.
    The signer re-authenticates with `data.password`, as for signing."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="amend")
    _reauthenticated(session, c, by, data.password, address, now, settings)
    versions = _opinions(session, c.id)
    last = versions[-1]
    op = Opinion(
        consultation_id=c.id,
        version=last.version + 1,
        author_id=by.id,
        findings="",
        impression="",
        supersedes_id=last.id,
        correction_reason=data.reason,
        annotations=list(last.annotations),  # a correction keeps the slide's marks
        created_at=now,
        updated_at=now,
    )
    _fill(op, data)
    session.add(op)
    session.flush()
    _seal(session, c, op, by, now, settings)
    log(
        session,
        c,
        "amend",
        from_state=c.state,
        by=by,
        at=now,
        reason=data.reason,
        data={"opinion_version": op.version},
    )
    record(session, by, "amend", c, now=now, detail={"version": op.version})
    notify(session, {c.requesting_doctor_id}, c, "amended", now)
    session.flush()
    _signed(session, c, op, by, now, settings)
    return op


def opinion_for(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    version: int | None = None,
) -> Opinion:
    """The latest signed opinion (or a given version); its author also sees the draft."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    rel = policy.relations(by, c)
    versions = _opinions(session, c.id)
    if not (rel & policy.ACTIONS["read_draft_opinion"]):
        versions = [v for v in versions if v.signed_at is not None]
    if version is not None:
        versions = [v for v in versions if v.version == version]
    if not versions:
        raise NotFound("no opinion yet")
    audit.read(
        session,
        by,
        object_type="consultation_opinion",
        object_id=versions[-1].id,
        patient_ids=[c.patient_id],
    )
    return versions[-1]


def draft_for(*, session: Session, consultation_id: uuid.UUID, by: User) -> Opinion | None:
    """The unsigned draft of the request when `by` may read it (its assigned specialist),
    else None: "no draft yet" is an answer, not an error. The read is audited either way
    (`detail.what="opinion_draft"`)."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    versions = _opinions(session, c.id)
    draft = versions[-1] if versions and versions[-1].signed_at is None else None
    if not (policy.relations(by, c) & policy.ACTIONS["read_draft_opinion"]):
        draft = None
    audit.read(
        session,
        by,
        object_type="consultation",
        object_id=c.id,
        patient_ids=[c.patient_id],
        what="opinion_draft",
    )
    return draft


def opinion_versions(*, session: Session, consultation_id: uuid.UUID, by: User) -> list[Opinion]:
    """Every signed version (full text); the read audited as one list row."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    signed = [v for v in _opinions(session, c.id) if v.signed_at is not None]
    audit.read(
        session,
        by,
        object_type="consultation_opinion",
        patient_ids=[c.patient_id],
        object_ids=[v.id for v in signed],
    )
    return signed


def verify(
    *, session: Session, consultation_id: uuid.UUID, by: User, version: int | None = None
) -> VerifyResult:
    """Check a signed opinion against its published key, recomputing the canonical form."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    signed = [v for v in _opinions(session, c.id) if v.signed_at is not None]
    if version is not None:
        signed = [v for v in signed if v.version == version]
    if not signed:
        raise NotFound("no signed opinion")
    op = signed[-1]
    key = session.get(signing.SpecialistKey, op.key_id) if op.key_id else None

    def result(valid: bool, reason: str) -> VerifyResult:
        return VerifyResult(
            consultation_id=c.id,
            version=op.version,
            valid=valid,
            algorithm=signing.ALGORITHM,
            key_id=op.key_id,
            signer_id=op.author_id,
            fingerprint=key.fingerprint if key else None,
            signed_at=op.signed_at,
            reason=reason,
        )

    if key is None or op.signature is None or op.signed_at is None:
        return result(False, "signing key not found")
    if key.user_id != op.author_id:
        return result(False, "the key does not belong to the author")
    canonical = signing.canonical_json(
        signing.signed_content(op, patient_id=c.patient_id, signed_at=op.signed_at)
    )
    if canonical != op.canonical:
        return result(False, "the stored opinion differs from what was signed")
    if not signing.verify(key.public_key, canonical, op.signature):
        return result(False, "signature does not match")
    return result(True, "signature valid")


def keys_of(*, session: Session, user_id: uuid.UUID) -> list[signing.SpecialistKey]:
    """A specialist's signing keys, oldest first."""
    return list(
        session.execute(
            select(signing.SpecialistKey)
            .where(signing.SpecialistKey.user_id == user_id)
            .order_by(col(signing.SpecialistKey.created_at))
        ).scalars()
    )
