"""A consultation's notifications are written from message codes, each in its recipient's
language (zh-CN when none is chosen), and keep the code and its parameters (codes, not
texts): a client renders them in its own language."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.consultations import jobs
from telemed.consultations.messages import CATALOGUE, KINDS
from telemed.core.notifications import Notification
from telemed.core.settings import get_settings

API = "/api/v1/consultations"


def _notes(session: Session, user_id: Any, kind: str) -> list[Notification]:
    session.flush()
    return list(
        session.execute(
            select(Notification).where(Notification.user_id == user_id, Notification.kind == kind)
        ).scalars()
    )


def test_every_code_has_chinese_and_english_texts_with_the_same_parameters() -> None:
    assert set(CATALOGUE) == {f"consultation.{code}" for code in KINDS}
    for code, texts in CATALOGUE.items():
        zh, en = texts["zh-CN"], texts["en"]
        assert zh.title and en.title, code
        names = {n for n in ("{urgency}", "{service}") if n in zh.title}
        assert names == {n for n in ("{urgency}", "{service}") if n in en.title}, code


def test_the_specialist_reads_a_new_request_in_their_language(
    client: TestClient, make_request: Any, session: Session, users: Any
) -> None:
    specialist = users("specialist2")
    specialist.language = "en"
    session.flush()
    c = make_request(urgency="emergency", service_class="imaging_diagnosis")
    [note] = [
        n
        for n in _notes(session, specialist.id, "consultation.incoming")
        if n.data["consultation_id"] == c["id"]
    ]
    assert note.title == "[emergency] New Imaging diagnosis request"
    assert note.code == "consultation.incoming"
    assert note.params == {"urgency": "emergency", "service": "imaging_diagnosis"}


def test_a_breach_names_the_urgency_in_chinese_not_its_code(
    client: TestClient, login: Any, make_request: Any, session: Session, clock: Any, users: Any
) -> None:
    c = make_request(urgency="emergency")
    clock.advance(hours=3)
    assert (
        c["id"] in jobs.sweep(session=session, now=clock(), settings=get_settings()).accept_breaches
    )
    [note] = _notes(session, users("coordinator").id, "consultation.sla_breach")
    assert note.title == "会诊申请超时未接收（急），请协调处理"
    assert "emergency" not in note.title
    assert (note.code, note.params) == ("consultation.accept_breach", {"urgency": "emergency"})
    listed = client.get("/api/v1/notifications", headers=login("coordinator")).json()
    [shown] = [n for n in listed if n["id"] == str(note.id)]
    assert (shown["code"], shown["params"], shown["title"]) == (
        "consultation.accept_breach",
        {"urgency": "emergency"},
        note.title,
    )
