"""The proposal's SQL statements are counted, so the hot path cannot grow silently."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from telemed.identity.models import Patient

API = "/api/v1/consultations/proposals"


def _statements(session: Session, call: Any) -> list[str]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    conn = session.connection()
    event.listen(conn, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(conn, "before_cursor_execute", count)
    return seen


def test_print(client: TestClient, login: Any, session: Session, demo_patient: Patient) -> None:
    headers = login("county-doctor")
    body = {"service_class": "consultation", "wanted_specialty": "cardiology",
            "patient_id": str(demo_patient.id), "urgency": "routine", "limit": 10}
    client.post(API, json=body, headers=headers)
    session.expunge_all()
    seen = _statements(session, lambda: client.post(API, json=body, headers=headers))
    for s in seen:
        print("-----\n", s)
    print(len(seen))
    assert False


def test_profile(session: Session, users: Any, demo_patient: Patient, clock: Any) -> None:
    import cProfile
    import pstats
    import time
    from sqlalchemy import event
    from telemed.consultations import service

    doctor = users("county-doctor")
    def run():
        session.expunge_all()
        d = session.get(type(doctor), doctor.id)
        service.propose(session=session, viewer=d, requesting_institution_id=d.institution_id, service_class="consultation", specialty="cardiology", title=None, now=clock(), patient_id=demo_patient.id, limit=10, check_patient=True)
    for _ in range(20):
        run()
    dbt = [0.0]
    st = {}
    conn = session.connection()
    def before(conn_, cursor, statement, *a):
        st["t"] = time.perf_counter()
    def after(conn_, cursor, statement, *a):
        dbt[0] += time.perf_counter() - st["t"]
    event.listen(conn, "before_cursor_execute", before)
    event.listen(conn, "after_cursor_execute", after)
    t = time.perf_counter()
    for _ in range(100):
        run()
    print("in-process ms", (time.perf_counter() - t) * 10, "db ms", dbt[0] * 10)
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(100):
        run()
    pr.disable()
    pstats.Stats(pr).sort_stats("cumulative").print_stats(70)
    assert False
