"""Enrolment: doctors of the targeted tiers, until the lecture starts; the capacity holds
under concurrent enrolments on PostgreSQL (the database's guarded count, not Python)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from telemed.core.audit import AuditEvent
from telemed.core.errors import Conflict
from telemed.identity.models import Role, User
from telemed.network.models import Institution
from telemed.training import service
from telemed.training.models import AttendanceEvent, Course, Enrolment
from tests.referrals.conftest import county_hospital, user_named
from tests.training.conftest import course_data, published_course

API = "/api/v1/training/courses"
Login = Callable[[str], dict[str, str]]


def test_county_and_township_doctors_enrol_and_unenrol(
    client: TestClient, login: Login, session: Session
) -> None:
    c = published_course(session, capacity=2)
    url = f"{API}/{c.id}/enrolment"
    r = client.post(url, headers=login("county-doctor"))
    assert r.status_code == 201, r.text
    assert r.json()["course"]["enrolled_count"] == 1
    r = client.post(url, headers=login("county-doctor"))
    assert (r.status_code, r.json()["code"]) == (409, "already_enrolled")
    assert client.post(url, headers=login("family-doctor")).status_code == 201
    mine = client.get("/api/v1/training/enrolments", headers=login("county-doctor")).json()
    assert [e["course"]["id"] for e in mine] == [str(c.id)]
    # the regional specialist's tier is not targeted
    r = client.post(url, headers=login("specialist2"))
    assert (r.status_code, r.json()["code"]) == (403, "tier_not_targeted")
    assert client.delete(url, headers=login("county-doctor")).status_code == 204
    r = client.delete(url, headers=login("county-doctor"))
    assert (r.status_code, r.json()["code"]) == (404, "not_enrolled")
    session.refresh(c)
    assert c.enrolled_count == 1


def test_a_full_course_refuses_and_enrolment_closes_at_the_start(
    client: TestClient, login: Login, session: Session
) -> None:
    c = published_course(session, capacity=1)
    assert client.post(f"{API}/{c.id}/enrolment", headers=login("county-doctor")).status_code == 201
    r = client.post(f"{API}/{c.id}/enrolment", headers=login("family-doctor"))
    assert (r.status_code, r.json()["code"]) == (409, "course_full")

    started = published_course(session, starts_at=datetime.now(UTC) - timedelta(minutes=1))
    r = client.post(f"{API}/{started.id}/enrolment", headers=login("county-doctor"))
    assert (r.status_code, r.json()["code"]) == (409, "enrolment_closed")


def _fire(engine: Engine, course_id: uuid.UUID, users: list[uuid.UUID]) -> Counter[str]:
    """Every user enrols at once from their own connection; the outcomes counted."""
    barrier = threading.Barrier(len(users))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    now = datetime.now(UTC)

    def run(uid: uuid.UUID) -> None:
        with Session(engine, expire_on_commit=False) as s:
            user = s.get(User, uid)
            course = s.get(Course, course_id)
            assert user is not None and course is not None
            barrier.wait(timeout=30)
            try:
                service.enrol(session=s, course=course, by=user, now=now)
                s.commit()
                outcome = "ok"
            except Conflict as exc:
                s.rollback()
                outcome = exc.code
            except Exception as exc:
                s.rollback()
                outcome = repr(exc)
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def _published(s: Session, capacity: int) -> uuid.UUID:
    coord = user_named(s, "coordinator")
    now = datetime.now(UTC)
    course = service.create(session=s, data=course_data(s, capacity=capacity), by=coord, now=now)
    service.transition(session=s, course=course, action="publish", by=coord, now=now)
    return course.id


def test_enrolment_never_exceeds_capacity_under_concurrency(committed_engine: Engine) -> None:
    n, capacity = 12, 5
    with Session(committed_engine, expire_on_commit=False) as s:
        county = county_hospital(s)
        now = datetime.now(UTC)
        users = [
            User(
                username=f"cme-{uuid.uuid4().hex[:10]}",
                password_hash="x",
                role=Role.COUNTY_DOCTOR,
                full_name="学员",
                institution_id=county.id,
                created_at=now,
            )  # fmt: skip
            for _ in range(n)
        ]
        s.add_all(users)
        s.flush()
        course_ids = [_published(s, capacity), _published(s, capacity)]
        s.commit()
        user_ids = [u.id for u in users]
    try:
        assert _fire(committed_engine, course_ids[0], user_ids) == Counter(
            {"ok": capacity, "course_full": n - capacity}
        )
        # one doctor four times at once: one enrolment, three already_enrolled
        assert _fire(committed_engine, course_ids[1], [user_ids[0]] * 4) == Counter(
            {"ok": 1, "already_enrolled": 3}
        )
        with Session(committed_engine) as s:
            for course_id, expected in zip(course_ids, (capacity, 1), strict=True):
                c = s.get(Course, course_id)
                assert c is not None and c.enrolled_count == expected
                rows = s.execute(select(Enrolment).where(Enrolment.course_id == course_id)).all()
                assert len(rows) == expected
    finally:
        with Session(committed_engine) as s:
            mine = select(Enrolment.id).where(col(Enrolment.course_id).in_(course_ids))
            s.execute(delete(AttendanceEvent).where(col(AttendanceEvent.enrolment_id).in_(mine)))
            s.execute(delete(Enrolment).where(col(Enrolment.course_id).in_(course_ids)))
            s.execute(delete(Course).where(col(Course.id).in_(course_ids)))
            s.execute(delete(User).where(col(User.id).in_(user_ids)))
            s.commit()


def test_enrolments_list_is_an_audited_read(
    client: TestClient, login: Login, session: Session
) -> None:
    c = published_course(session)
    client.post(f"{API}/{c.id}/enrolment", headers=login("county-doctor"))
    client.get("/api/v1/training/enrolments", headers=login("county-doctor"))
    row = (
        session.execute(
            select(AuditEvent)
            .where(AuditEvent.object_type == "training_enrolment", AuditEvent.action == "read")
            .order_by(col(AuditEvent.at).desc())
        )
        .scalars()
        .first()
    )
    assert row is not None and row.actor_id == user_named(session, "county-doctor").id
    assert session.get(Institution, user_named(session, "county-doctor").institution_id)
