"""Retention as policy: national minimums, purge of file and row (audited), legal hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session, select

from telemed.core.audit import AuditEvent
from telemed.core.settings import RETENTION_MINIMUM_DAYS, Settings
from telemed.jobs.tasks import Context, run_task
from telemed.video.models import Recording, Room, RoomEvent


def _recording(session: Session, clock: Any, tmp_path: Path, name: str) -> tuple[Recording, Path]:
    room = session.execute(select(Room)).scalars().first()
    assert room is not None
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    rec = Recording(
        room_id=room.id,
        path=str(path),
        status="finished",
        started_by_id=room.host_id,
        started_at=clock(),
        retention_until=clock() + timedelta(days=RETENTION_MINIMUM_DAYS["recording"]),
    )
    session.add(rec)
    session.flush()
    return rec, path


def test_the_defaults_are_the_national_minimums() -> None:
    s = Settings(_env_file=None, env="development")  # type: ignore[call-arg]
    assert s.video.recording_retention_days == s.video.chat_retention_days == 1096  # 3 years
    assert s.consultations.record_retention_days == 5479  # 15 years


@pytest.mark.parametrize(
    "variable",
    [
        "TELEMED_VIDEO__RECORDING_RETENTION_DAYS",
        "TELEMED_VIDEO__CHAT_RETENTION_DAYS",
        "TELEMED_CONSULTATIONS__RECORD_RETENTION_DAYS",
    ],
)
def test_production_refuses_a_shorter_retention_and_accepts_a_longer_one(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    for name in ("TELEMED_SECURITY__ARGON2_TIME_COST", "TELEMED_SECURITY__ARGON2_MEMORY_KIB"):
        monkeypatch.delenv(name, raising=False)  # the suite's cheap hashing, refused here
    monkeypatch.setenv("TELEMED_ENV", "production")
    monkeypatch.setenv(variable, "180")
    with pytest.raises(ValidationError, match=variable):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv(variable, "9000")
    Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("TELEMED_ENV", "development")
    monkeypatch.setenv(variable, "1")  # shorter only outside production (demos, tests)
    Settings(_env_file=None)  # type: ignore[call-arg]


def test_purge_honours_retention_and_legal_hold(
    session: Session,
    clock: Any,
    ctx: Context,
    tmp_path: Path,
    client: TestClient,
    login: Callable[[str], dict[str, str]],
) -> None:
    kept, kept_file = _recording(session, clock, tmp_path, "held")
    gone, gone_file = _recording(session, clock, tmp_path, "expired")
    kept_id, gone_id = kept.id, gone.id
    admin = login("admin")
    body = {"reason": "患者投诉，医务处要求封存 (complaint 2026-118)"}
    assert (
        client.put(
            f"/api/v1/recordings/{kept_id}/legal-hold", json=body, headers=login("specialist")
        )
    ).status_code == 403
    r = client.put(f"/api/v1/recordings/{kept_id}/legal-hold", json=body, headers=admin)
    assert r.status_code == 200 and r.json()["legal_hold_reason"] == body["reason"]
    again = client.put(f"/api/v1/recordings/{kept_id}/legal-hold", json=body, headers=admin)
    assert again.status_code == 409 and again.json()["code"] == "already_on_hold"
    empty = client.put(
        f"/api/v1/recordings/{kept_id}/legal-hold", json={"reason": ""}, headers=admin
    )
    assert empty.status_code == 422

    clock.advance(days=RETENTION_MINIMUM_DAYS["recording"] - 1)
    assert run_task("retention.recordings", ctx) == {"purged": 0}  # not yet
    clock.advance(days=1)
    assert run_task("retention.recordings", ctx) == {"purged": 1}
    session.expire_all()
    assert session.get(Recording, gone_id) is None and not gone_file.exists()
    held = session.get(Recording, kept_id)
    assert held is not None and kept_file.exists() and held.legal_hold_by_id is not None
    purge_audit = session.execute(
        select(AuditEvent).where(AuditEvent.object_id == str(gone_id), AuditEvent.action == "purge")
    ).scalar_one()
    assert purge_audit.detail["reason"] == "retention period ended"
    hold_audit = session.execute(
        select(AuditEvent).where(
            AuditEvent.object_id == str(kept_id), AuditEvent.action == "legal_hold"
        )
    ).scalar_one()
    assert hold_audit.actor_role == "admin"

    token = client.post(
        "/api/v1/auth/token", data={"username": "admin", "password": "telemed-demo"}
    ).json()["access_token"]  # three years on: a new login
    admin = {"Authorization": f"Bearer {token}"}
    released = client.delete(f"/api/v1/recordings/{kept_id}/legal-hold", headers=admin)
    assert released.status_code == 200 and released.json()["legal_hold_at"] is None
    assert run_task("retention.recordings", ctx) == {"purged": 1}
    session.expire_all()
    assert session.get(Recording, kept_id) is None and not kept_file.exists()
    missing = client.delete(f"/api/v1/recordings/{kept_id}/legal-hold", headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_chat_is_purged_after_its_retention_except_in_held_rooms(
    session: Session, clock: Any, ctx: Context, tmp_path: Path
) -> None:
    demo = session.execute(select(Room)).scalars().first()
    assert demo is not None
    other = Room(
        title="second room",
        host_id=demo.host_id,
        created_by_id=demo.host_id,
        starts_at=clock(),
        ends_at=clock() + timedelta(hours=1),
        created_at=clock(),
    )
    session.add(other)
    session.flush()
    rooms = [other, demo]
    for room in rooms:
        session.add(
            RoomEvent(room_id=room.id, at=clock(), user_id=room.host_id, kind="chat", data={})
        )
    held, _ = _recording(session, clock, tmp_path, "h")
    held.room_id = rooms[1].id
    held.legal_hold_at, held.legal_hold_reason = clock(), "dispute"
    session.flush()
    clock.advance(days=RETENTION_MINIMUM_DAYS["chat"] + 1)
    assert run_task("retention.chat", ctx)["purged"] >= 1

    def chats(room: Room) -> int:
        return len(
            session.execute(
                select(RoomEvent).where(RoomEvent.room_id == room.id, RoomEvent.kind == "chat")
            ).all()
        )

    assert chats(rooms[0]) == 0 and chats(rooms[1]) >= 1
    assert session.execute(
        select(AuditEvent).where(
            AuditEvent.object_type == "video_chat", AuditEvent.object_id == str(rooms[0].id)
        )
    ).first()
