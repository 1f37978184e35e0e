"""The coordinator's report: per hospital (and county) of the attendees, how many enrolled,
attended (live or the recording) and were credited, over the courses the caller manages."""

from __future__ import annotations

from sqlalchemy import Integer, case, func, select
from sqlmodel import Session, col

from telemed.core import audit
from telemed.core.errors import Forbidden
from telemed.identity.models import Role, User
from telemed.network.models import Institution
from telemed.training.models import Course, Enrolment
from telemed.training.schemas import CountyRow, ReportRow, TrainingReport


def report(*, session: Session, by: User) -> TrainingReport:
    """One GROUP BY over the enrolments of the caller's courses (admins: every course); the
    county rows add up the hospital rows."""
    if by.role not in (Role.COORDINATOR, Role.ADMIN):
        raise Forbidden("coordinators only", code="not_course_manager")
    attended = (col(Enrolment.live_seconds) > 0) | (col(Enrolment.watched_seconds) > 0)
    stmt = (
        select(
            col(Institution.county_code),
            col(Institution.id),
            col(Institution.name_zh),
            func.count(col(Enrolment.id)),
            func.sum(case((attended, 1), else_=0).cast(Integer)),
            func.count(col(Enrolment.credited_at)),
        )
        .select_from(Enrolment)
        .join(Course, col(Course.id) == Enrolment.course_id)
        .join(User, col(User.id) == Enrolment.user_id)
        .outerjoin(Institution, col(Institution.id) == User.institution_id)
        .group_by(col(Institution.county_code), col(Institution.id), col(Institution.name_zh))
        .order_by(col(Institution.county_code), col(Institution.name_zh))
    )
    if by.role != Role.ADMIN:
        stmt = stmt.where(col(Course.institution_id) == by.institution_id)
    hospitals = [
        ReportRow(
            county_code=county,
            institution_id=iid,
            institution_name=name or "",
            enrolled=n,
            attended=int(a or 0),
            credited=c,
        )  # fmt: skip
        for county, iid, name, n, a, c in session.execute(stmt).all()
    ]
    counties: dict[str | None, CountyRow] = {}
    for h in hospitals:
        row = counties.setdefault(
            h.county_code, CountyRow(county_code=h.county_code, enrolled=0, attended=0, credited=0)
        )
        row.enrolled += h.enrolled
        row.attended += h.attended
        row.credited += h.credited
    audit.read(session, by, object_type="training_report",
               object_id=str(by.institution_id or "*"))  # fmt: skip
    return TrainingReport(hospitals=hospitals, counties=list(counties.values()))
