"""Rules of imaging: the study index, who may see a study, links, audit of every access.

A study is visible to
- staff of the institution that sent it,
- participants of a consultation/referral it is linked to (resolvers registered by those
  domains through `register_link_access`),
- the patient it belongs to,
- admins.
Everything else is absent from queries and 404 on direct access. Who may link and
unlink is the rule of `dicom.policy`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from dicom import policy, worklist
from dicom.models import Instance, LinkTarget, OrderStatus, Study, StudyLink, WorklistItem
from dicom.schemas import StudySummary
from telemed.core import audit
from telemed.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from telemed.identity.models import DOCTOR_ROLES, Patient, Role, User
from telemed.identity.permissions import is_staff, require_patient_read
from telemed.network.models import Institution

__all__ = [
    "TargetAttach",
    "assign_study",
    "cancel_orders",
    "compare_for_assignment",
    "demographic_mismatches",
    "orders_of",
    "publish_order",
    "register_target_attach",
    "unmatched_studies",
    "InstanceInfo",
    "LinkAccess",
    "can_see_study",
    "get_visible_study",
    "Received",
    "index_instance",
    "index_instances",
    "link_study",
    "links_for",
    "list_studies",
    "record_access",
    "register_link_access",
    "register_link_target",
    "studies_for",
    "summary_of",
    "unlink_study",
    "visible_study_uids",
]

log = logging.getLogger("telemed.dicom")

# (session, user, target_id) -> True when the user takes part in that consultation/referral
LinkAccess = Callable[[Session, User, uuid.UUID], bool]
_link_access: dict[str, list[LinkAccess]] = {}


def register_link_access(target_type: str, fn: LinkAccess) -> None:
    """Let consultations/referrals say who takes part in their objects (grants linked studies)."""
    if target_type not in {t.value for t in LinkTarget}:
        raise ValueError(f"unknown link target type {target_type!r}")
    fns = _link_access.setdefault(target_type, [])
    if fn not in fns:
        fns.append(fn)


def _takes_part(session: Session, user: User, target_type: str, target_id: uuid.UUID) -> bool:
    return any(fn(session, user, target_id) for fn in _link_access.get(target_type, []))


def _study(session: Session, study_uid: str) -> Study | None:
    return session.execute(select(Study).where(Study.study_uid == study_uid)).scalar_one_or_none()


def _may_see(session: Session, user: User, study: Study) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.PATIENT:
        return user.patient_id is not None and study.patient_id == user.patient_id
    if (
        is_staff(user)
        and user.institution_id is not None
        and study.source_institution_id == user.institution_id
    ):
        return True
    links = session.execute(
        select(StudyLink.target_type, StudyLink.target_id).where(StudyLink.study_id == study.id)
    ).all()
    return any(_takes_part(session, user, t, tid) for t, tid in links)


def can_see_study(*, session: Session, user: User, study_uid: str) -> bool:
    """True when `user` may see the study (unknown studies are not visible)."""
    study = _study(session, study_uid)
    return study is not None and _may_see(session, user, study)


def get_visible_study(*, session: Session, user: User, study_uid: str) -> Study:
    """The study if the user may see it; 404 otherwise (no existence leak)."""
    study = _study(session, study_uid)
    return audit.visible_or_404(
        session,
        user,
        study,
        visible=study is not None and _may_see(session, user, study),
        object_type="study",
        ident=study_uid,
        reason="neither of the sending institution nor taking part in a linked request",
    )


def _visible_filter(session: Session, user: User) -> Any:
    """A SQL condition on Study selecting what `user` may see (None: everything)."""
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.PATIENT:
        if user.patient_id is None:
            return col(Study.id).is_(None)
        return Study.patient_id == user.patient_id
    conds: list[Any] = []
    if is_staff(user) and user.institution_id is not None:
        conds.append(Study.source_institution_id == user.institution_id)
    # Linked studies: ask each registered resolver once per distinct target.
    targets = session.execute(select(StudyLink.target_type, StudyLink.target_id).distinct()).all()
    granted = [tid for t, tid in targets if _takes_part(session, user, t, tid)]
    if granted:
        conds.append(
            col(Study.id).in_(
                select(StudyLink.study_id).where(col(StudyLink.target_id).in_(granted))
            )
        )
    if not conds:
        return col(Study.id).is_(None)
    return or_(*conds)


def visible_study_uids(
    *, session: Session, user: User, among: Iterable[str] | None = None
) -> set[str]:
    """Study UIDs the user may see (restricted to `among` when given)."""
    stmt = select(Study.study_uid)
    cond = _visible_filter(session, user)
    if cond is not None:
        stmt = stmt.where(cond)
    if among is not None:
        wanted = list(among)
        if not wanted:
            return set()
        stmt = stmt.where(col(Study.study_uid).in_(wanted))
    return set(session.execute(stmt).scalars())


def summary_of(session: Session, study: Study) -> StudySummary:
    """The list view of one study."""
    inst = (
        session.get(Institution, study.source_institution_id)
        if study.source_institution_id
        else None
    )
    return StudySummary(
        study_uid=study.study_uid,
        patient_name=study.patient_name,
        dicom_patient_id=study.dicom_patient_id,
        patient_id=study.patient_id,
        modality=study.modality,
        study_date=study.study_date,
        description=study.description,
        accession_number=study.accession_number,
        series_count=study.series_count,
        instance_count=study.instance_count,
        size_bytes=study.size_bytes,
        source_institution_id=study.source_institution_id,
        source_institution_name=inst.name_zh if inst else None,
        source_ae=study.source_ae,
        source=study.source,
        created_at=study.created_at,
    )


def list_studies(
    *,
    session: Session,
    user: User,
    limit: int = 50,
    offset: int = 0,
    patient_id: uuid.UUID | None = None,
    modality: str | None = None,
) -> tuple[list[StudySummary], int]:
    """The studies `user` may see, newest first, with the total."""
    stmt = select(Study)
    cond = _visible_filter(session, user)
    if cond is not None:
        stmt = stmt.where(cond)
    if patient_id is not None:
        stmt = stmt.where(Study.patient_id == patient_id)
    if modality:
        stmt = stmt.where(col(Study.modality).contains(modality.upper()))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(col(Study.created_at).desc(), col(Study.id).desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    return [summary_of(session, s) for s in rows], int(total)


def record_access(
    *,
    session: Session,
    user: User,
    study: Study,
    what: str,
    now: datetime,
    ip: str | None = None,
    action: str = "read",
    detail: dict[str, Any] | None = None,
    patient_id: uuid.UUID | None = None,
) -> None:
    """Write one audit row: who accessed which study, what (qido, metadata, frames ...);
    it names the study's patient, or `patient_id` (a candidate shown beside the study)."""
    patient_id = patient_id or study.patient_id
    if action == "read" and not detail:
        audit.read(
            session,
            user,
            object_type="study",
            object_id=study.study_uid,
            patient_ids=[patient_id],
            what=what,
            at=now,
        )
        return
    audit.record(
        session=session,
        actor_id=user.id,
        actor_role=user.role,
        action=action,
        object_type="study",
        object_id=study.study_uid,
        patient_id=patient_id,
        ip=ip,
        detail={"what": what, **(detail or {})},
        at=now,
    )


register_link_target = policy.register_link_target


def _link(
    session: Session, study_uid: str, target_type: str, target_id: uuid.UUID
) -> StudyLink | None:
    return session.execute(
        select(StudyLink).where(
            StudyLink.study_uid == study_uid,
            StudyLink.target_type == target_type,
            StudyLink.target_id == target_id,
        )
    ).scalar_one_or_none()


def link_study(
    *,
    session: Session,
    study_uid: str,
    target_type: str,
    target_id: uuid.UUID,
    by: User,
    now: datetime,
) -> StudyLink:
    """Attach a study to a consultation/referral as `dicom.policy` allows. Idempotent."""
    if target_type not in {t.value for t in LinkTarget}:
        raise Invalid(f"unknown target type {target_type!r}", field="target_type")
    study = get_visible_study(session=session, user=by, study_uid=study_uid)
    policy.require_may_link(
        session=session, user=by, study=study, target_type=target_type, target_id=target_id
    )
    existing = _link(session, study_uid, target_type, target_id)
    if existing is not None:
        return existing
    values = {
        "id": uuid.uuid4(),
        "study_id": study.id,
        "study_uid": study_uid,
        "target_type": target_type,
        "target_id": target_id,
        "linked_by_id": by.id,
        "created_at": now,
    }
    # Concurrent linkers: the unique constraint decides, the loser reads the winner's row.
    session.execute(
        _insert(session, StudyLink)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["study_uid", "target_type", "target_id"])
    )
    link = _link(session, study_uid, target_type, target_id)
    assert link is not None
    record_access(
        session=session,
        user=by,
        study=study,
        what="link",
        now=now,
        action="create",
        detail={"target_type": target_type, "target_id": str(target_id)},
    )
    session.flush()
    return link


def unlink_study(
    *,
    session: Session,
    study_uid: str,
    target_type: str,
    target_id: uuid.UUID,
    by: User,
    now: datetime,
    ip: str | None = None,
) -> None:
    """Remove a link as `dicom.policy` allows; its readers lose the study at once (404)."""
    study = get_visible_study(session=session, user=by, study_uid=study_uid)
    link = _link(session, study_uid, target_type, target_id)
    if link is None:
        raise NotFound(
            f"study {study_uid} is not linked to {target_type} {target_id}", code="link_not_found"
        )
    policy.require_may_link(
        session=session, user=by, study=study, target_type=target_type, target_id=target_id
    )
    session.delete(link)
    policy.unlinked(session, study_uid=study_uid, target_type=target_type, target_id=target_id)
    record_access(
        session=session,
        user=by,
        study=study,
        what="unlink",
        now=now,
        ip=ip,
        action="delete",
        detail={"target_type": target_type, "target_id": str(target_id)},
    )
    session.flush()


def links_for(*, session: Session, target_type: str, target_id: uuid.UUID) -> list[StudyLink]:
    """The links of a consultation/referral, oldest first (the caller authorizes the target)."""
    return list(
        session.execute(
            select(StudyLink)
            .where(StudyLink.target_type == target_type, StudyLink.target_id == target_id)
            .order_by(col(StudyLink.created_at), col(StudyLink.id))
        ).scalars()
    )


def studies_for(*, session: Session, target_type: str, target_id: uuid.UUID) -> list[StudySummary]:
    """The studies linked to a consultation/referral (the caller authorizes the target)."""
    rows = session.execute(
        select(Study)
        .join(StudyLink, col(StudyLink.study_id) == Study.id)
        .where(StudyLink.target_type == target_type, StudyLink.target_id == target_id)
        .order_by(col(StudyLink.created_at))
    ).scalars()
    return [summary_of(session, s) for s in rows]


# ---------------------------------------------------------------- index (ingest side)


@dataclass(frozen=True)
class InstanceInfo:
    """The attributes of one instance the index keeps (read from its header)."""

    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    size_bytes: int
    modality: str = ""
    patient_name: str = ""
    dicom_patient_id: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    study_date: str = ""
    description: str = ""
    accession_number: str = ""
    series_number: int | None = None
    instance_number: int | None = None


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _parse_date(value: str) -> date | None:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except (ValueError, IndexError):
        return None


def _insert_study(
    session: Session,
    *,
    info: InstanceInfo,
    institution_id: uuid.UUID | None,
    source_ae: str | None,
    source: str,
    now: datetime,
    patient_id: uuid.UUID | None,
) -> None:
    """Insert the study row unless a concurrent ingest already did (the UID decides)."""
    session.execute(
        _insert(session, Study)
        .values(
            id=uuid.uuid4(),
            study_uid=info.study_uid,
            patient_name=info.patient_name[:200],
            dicom_patient_id=info.dicom_patient_id[:64],
            patient_birth_date=info.patient_birth_date[:8],
            patient_sex=info.patient_sex[:16],
            patient_id=patient_id,
            modality=info.modality[:64],
            study_date=_parse_date(info.study_date),
            description=info.description[:200],
            accession_number=info.accession_number[:64],
            series_count=0,
            instance_count=0,
            size_bytes=0,
            source_institution_id=institution_id,
            source_ae=source_ae,
            source=source,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["study_uid"])
    )


@dataclass(frozen=True)
class Received:
    """One instance to index and where it came from."""

    info: InstanceInfo
    institution_id: uuid.UUID | None
    source_ae: str | None
    path: str | None = None
    patient_id: uuid.UUID | None = None


def index_instance(
    *,
    session: Session,
    info: InstanceInfo,
    institution_id: uuid.UUID | None,
    source_ae: str | None,
    source: str,
    now: datetime,
    path: str | None = None,
    patient_id: uuid.UUID | None = None,
) -> tuple[Study, bool]:
    """Record one instance (and its study) in the index. Returns (study, newly indexed)."""
    item = Received(info, institution_id, source_ae, path, patient_id)
    studies, new = index_instances(session=session, items=[item], source=source, now=now)
    return studies[info.study_uid], bool(new)


def index_instances(
    *, session: Session, items: list[Received], source: str, now: datetime
) -> tuple[dict[str, Study], set[str]]:
    """Record a batch of instances (and their studies) in the index with a few statements.

    Returns the studies by UID and the SOP Instance UIDs newly indexed. Idempotent and
    safe under concurrency: the unique SOP Instance UID decides which insert counts, and
    the study counters are incremented in SQL by the inserts that won only.
    """
    firsts: dict[str, Received] = {}
    for item in items:
        firsts.setdefault(item.info.study_uid, item)
    found = _studies_by_uid(session, list(firsts))
    # Patient identity comes from the order (accession number on the sender's worklist),
    # never from identifiers in the header: the rest waits for reconciliation.
    orders = {
        uid: worklist.match_order(
            session=session,
            accession_number=item.info.accession_number,
            institution_id=item.institution_id,
        )
        for uid, item in firsts.items()
        if uid not in found
    }
    for uid, item in firsts.items():
        if uid not in found:
            _insert_study(
                session,
                info=item.info,
                institution_id=item.institution_id,
                source_ae=item.source_ae,
                source=source,
                now=now,
                patient_id=item.patient_id or _order_patient(orders.get(uid)),
            )
    if len(found) < len(firsts):
        created = set(firsts) - set(found)
        found = _studies_by_uid(session, list(firsts))
        for uid in created:
            order = orders.get(uid)
            if order is not None and found[uid].source_institution_id == order.institution_id:
                _fulfil(session, order, found[uid], now)
    rows: dict[str, dict[str, Any]] = {}
    for item in items:  # one row per SOP Instance UID (a batch may repeat one)
        info = item.info
        rows.setdefault(
            info.sop_uid,
            {
                "id": uuid.uuid4(),
                "sop_uid": info.sop_uid,
                "study_id": found[info.study_uid].id,
                "study_uid": info.study_uid,
                "series_uid": info.series_uid,
                "sop_class_uid": info.sop_class_uid,
                "transfer_syntax_uid": info.transfer_syntax_uid,
                "modality": info.modality[:16],
                "series_number": info.series_number,
                "instance_number": info.instance_number,
                "size_bytes": info.size_bytes,
                "path": item.path,
                "created_at": now,
            },
        )
    inserted = session.execute(
        _insert(session, Instance)
        .values(list(rows.values()))
        .on_conflict_do_nothing(index_elements=["sop_uid"])
        .returning(Instance.sop_uid)
    ).all()
    new = {sop for (sop,) in inserted}
    for uid, study in found.items():
        won = [rows[sop] for sop in new if rows[sop]["study_uid"] == uid]
        if won:
            _count_in(session, study, won, now)
    if new:
        session.flush()
        for study in found.values():
            session.refresh(study)
    return found, new


def _order_patient(order: WorklistItem | None) -> uuid.UUID | None:
    return order.patient_id if order is not None else None


def _studies_by_uid(session: Session, uids: list[str]) -> dict[str, Study]:
    return {
        s.study_uid: s
        for s in session.execute(select(Study).where(col(Study.study_uid).in_(uids))).scalars()
    }


def _count_in(session: Session, study: Study, won: list[dict[str, Any]], now: datetime) -> None:
    """Add the instances that won their insert to the study's counters (in SQL)."""
    # Distinct series counted in SQL, never incremented from a Python-side guess: two
    # concurrent first instances of one series must not count it twice.
    distinct_series = (
        select(func.count(func.distinct(Instance.series_uid)))
        .where(Instance.study_id == study.id)
        .scalar_subquery()
    )
    modalities = set(filter(None, study.modality.split("/")))
    added = {r["modality"] for r in won if r["modality"]}
    values: dict[str, Any] = {
        "instance_count": Study.instance_count + len(won),
        "size_bytes": Study.size_bytes + sum(r["size_bytes"] for r in won),
        "series_count": distinct_series,
        "updated_at": now,
    }
    if added - modalities:
        values["modality"] = "/".join(sorted(modalities | added))[:64]
    session.execute(update(Study).where(col(Study.id) == study.id).values(**values))


def instances_of(*, session: Session, study_uid: str) -> list[Instance]:
    """Indexed instances of a study in series/instance order."""
    return list(
        session.execute(
            select(Instance)
            .where(Instance.study_uid == study_uid)
            .order_by(
                col(Instance.series_number), col(Instance.series_uid), col(Instance.instance_number)
            )
        ).scalars()
    )


# ---------------------------------------------------------------- orders and reconciliation

# (session, target_id, study_uid, by_id, patient_id, institution_id, now): record a study on
# a consultation/referral of that hospital and patient; raise NotFound when it is not one.
TargetAttach = Callable[[Session, uuid.UUID, str, uuid.UUID, uuid.UUID, uuid.UUID, datetime], None]
_attachers: dict[str, TargetAttach] = {}


def register_target_attach(target_type: str, fn: TargetAttach) -> None:
    """Let consultations/referrals record a study matched to (or assigned to) their request."""
    if target_type not in {t.value for t in LinkTarget}:
        raise ValueError(f"unknown link target type {target_type!r}")
    _attachers[target_type] = fn


def publish_order(
    *,
    session: Session,
    target_type: str,
    target_id: uuid.UUID,
    patient_id: uuid.UUID,
    institution_id: uuid.UUID,
    by: User,
    modality: str,
    scheduled_at: datetime,
    procedure: str,
    now: datetime,
) -> WorklistItem:
    """Publish a modality worklist entry for a remote imaging request (see `dicom.worklist`)."""
    if target_type not in {t.value for t in LinkTarget}:
        raise Invalid(f"unknown target type {target_type!r}", field="target_type")
    item = worklist.publish_order(
        session=session,
        target_type=target_type,
        target_id=target_id,
        patient_id=patient_id,
        institution_id=institution_id,
        by=by,
        modality=modality,
        scheduled_at=scheduled_at,
        procedure=procedure,
        now=now,
    )
    audit.record(
        session=session,
        actor_id=by.id,
        actor_role=by.role,
        action="create",
        object_type="worklist_item",
        object_id=item.id,
        patient_id=patient_id,
        detail={"accession_number": item.accession_number, target_type: str(target_id)},
        at=now,
    )
    return item


cancel_orders = worklist.cancel_orders
orders_of = worklist.orders_of


def _attach(
    session: Session,
    study: Study,
    target_type: str,
    target_id: uuid.UUID,
    by_id: uuid.UUID,
    institution_id: uuid.UUID,
    now: datetime,
) -> None:
    """Record the study on the target (its domain checks it) and link it for access."""
    assert study.patient_id is not None
    fn = _attachers.get(target_type)
    if fn is not None:
        fn(session, target_id, study.study_uid, by_id, study.patient_id, institution_id, now)
    session.execute(
        _insert(session, StudyLink)
        .values(
            id=uuid.uuid4(),
            study_id=study.id,
            study_uid=study.study_uid,
            target_type=target_type,
            target_id=target_id,
            linked_by_id=by_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["study_uid", "target_type", "target_id"])
    )


def _fulfil(session: Session, order: WorklistItem, study: Study, now: datetime) -> None:
    """A study arrived with the order's accession number: patient, request, worklist."""
    if study.patient_id != order.patient_id:
        return  # the uploader named another patient explicitly: reconciliation decides
    order.status = OrderStatus.COMPLETED
    order.matched_study_uid = study.study_uid
    order.updated_at = now
    try:
        with session.begin_nested():
            _attach(
                session,
                study,
                order.target_type,
                order.target_id,
                order.requested_by_id,
                order.institution_id,
                now,
            )
    except DomainError:  # the request no longer takes studies: the patient still matches
        log.warning("order %s: study %s not attached", order.accession_number, study.study_uid)
    audit.record(
        session=session,
        actor_id=None,
        actor_role="system",
        action="update",
        object_type="study",
        object_id=study.study_uid,
        patient_id=study.patient_id,
        detail={
            "what": "order-match",
            "accession_number": order.accession_number,
            "target_type": order.target_type,
            "target_id": str(order.target_id),
        },
        at=now,
    )


def _may_reconcile(user: User) -> bool:
    return user.role in DOCTOR_ROLES and user.institution_id is not None


def unmatched_studies(
    *, session: Session, user: User, limit: int = 50, offset: int = 0
) -> tuple[list[Study], int]:
    """The reconciliation list: studies the user's hospital sent that match no patient."""
    if not _may_reconcile(user):
        raise Forbidden("only doctors of the sending institution reconcile its studies")
    stmt = select(Study).where(
        Study.source_institution_id == user.institution_id, col(Study.patient_id).is_(None)
    )
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(col(Study.created_at).desc(), col(Study.id).desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    return list(rows), int(total)


def _unmatched_study(session: Session, user: User, study_uid: str) -> Study:
    if not _may_reconcile(user):
        raise Forbidden("only doctors of the sending institution reconcile its studies")
    study = _study(session, study_uid)
    return audit.visible_or_404(
        session,
        user,
        study,
        visible=study is not None and study.source_institution_id == user.institution_id,
        object_type="study",
        ident=study_uid,
        reason="reconciles a study another institution sent",
    )


def _name_forms(pn: str) -> set[str]:
    """A DICOM person name's component groups (alphabetic=ideographic=phonetic), normalized."""
    forms = set()
    for group in pn.split("="):
        norm = "".join(group.replace("^", " ").split()).casefold()
        if norm:
            forms.add(norm)
    return forms


_SEX = {"M": "male", "F": "female"}


def demographic_mismatches(study: Study, patient: Patient) -> list[str]:
    """Which of name, sex, birth date the DICOM header and our patient disagree on."""
    out = []
    if "".join(patient.name.split()).casefold() not in _name_forms(study.patient_name):
        out.append("name")
    if _SEX.get(study.patient_sex.strip().upper()) != patient.sex:
        out.append("sex")
    if _parse_date(study.patient_birth_date) != patient.birth_date:
        out.append("birth_date")
    return out


def compare_for_assignment(
    *, session: Session, user: User, study_uid: str, patient_id: uuid.UUID
) -> tuple[Study, Patient, list[str]]:
    """The study, the candidate patient and what disagrees (for the reconciliation page)."""
    study = _unmatched_study(session, user, study_uid)
    patient = require_patient_read(session, user, patient_id)
    return study, patient, demographic_mismatches(study, patient)


def assign_study(
    *,
    session: Session,
    user: User,
    study_uid: str,
    patient_id: uuid.UUID,
    consultation_id: uuid.UUID | None,
    confirm_mismatch: bool,
    now: datetime,
    ip: str | None = None,
) -> tuple[Study, list[str]]:
    """Assign an unmatched study to a patient (and a consultation of that hospital)."""
    study = _unmatched_study(session, user, study_uid)
    if study.patient_id is not None:
        raise Conflict(
            f"study {study_uid} is already assigned to a patient", code="already_assigned"
        )
    patient = require_patient_read(session, user, patient_id)
    mismatches = demographic_mismatches(study, patient)
    if mismatches and not confirm_mismatch:
        raise Conflict(
            "the study's DICOM demographics disagree with the patient's on "
            + ", ".join(mismatches)
            + "; check the patient and send confirm_mismatch=true to assign anyway",
            code="demographics_mismatch",
        )
    study.patient_id = patient.id
    study.updated_at = now
    session.flush()
    assert user.institution_id is not None
    if consultation_id is not None:
        _attach(session, study, "consultation", consultation_id, user.id, user.institution_id, now)
    record_access(
        session=session,
        user=user,
        study=study,
        what="reconcile",
        now=now,
        ip=ip,
        action="update",
        detail={
            "mismatches": mismatches,
            "consultation_id": str(consultation_id) if consultation_id else None,
        },
    )
    session.flush()
    return study, mismatches
