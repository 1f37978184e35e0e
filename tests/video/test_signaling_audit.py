"""The signaling socket audits as the HTTP routes do: a refused user leaves a security event
with the reason (it survives the refused step's rollback), a join is a read of the patient.

Real websocket clients against the live server; rows read back from the committed database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from telemed.consultations import service as consultations_service
from telemed.consultations.schemas import AcceptBody, ConsultationCreate
from telemed.core import clock
from telemed.core.audit import REFUSED, AuditEvent, AuditEventPatient
from telemed.core.settings import get_settings
from telemed.identity.models import User
from telemed.video.client import RoomClient
from tests.consultations.committed import purge
from tests.consultations.conftest import CONSENT


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


@pytest.fixture
def consultation(committed_engine: Engine, users: dict[str, User]) -> Iterator[uuid.UUID]:
    """An emergency consultation of the demo patient, accepted by `specialist`, committed."""
    with Session(committed_engine) as s:
        county = s.merge(users["county-doctor"])
        specialist = s.merge(users["specialist"])
        patient_id = users["patient"].patient_id
        c = consultations_service.create(
            session=s,
            by=county,
            data=ConsultationCreate.model_validate(
                {
                    "patient_id": str(patient_id),
                    "service_class": "consultation",
                    "urgency": "emergency",
                    "summary": "男，64岁，胸痛3小时",
                    "question": "请协助诊治",
                    "wanted_specialty": "cardiology",
                    "chosen_specialist_id": str(specialist.id),
                    "override_reason": "指定专家（测试）",  # a named specialist
                    "consent": CONSENT,
                }
            ),
            now=clock.now(),
        )
        consultations_service.submit(
            session=s, consultation_id=c.id, by=county, now=clock.now(), settings=get_settings()
        )
        consultations_service.accept(
            session=s,
            consultation_id=c.id,
            by=specialist,
            data=AcceptBody(),
            now=clock.now(),
            settings=get_settings(),
        )
        s.commit()
        cid = c.id
    yield cid
    # Removed, not closed: a closed consultation would still let `specialist` read the
    # demo patient in the tests that run after this one. The server may still be writing
    # the last peers' leave events: then the purge meets them and goes again.
    for attempt in range(50):
        try:
            purge(committed_engine, cid)
            break
        except IntegrityError:
            if attempt == 49:
                raise
            time.sleep(0.1)


def _rows(engine: Engine, room_id: str, since: datetime) -> list[tuple[AuditEvent, set[Any]]]:
    with Session(engine) as s:
        events = s.execute(
            select(AuditEvent)
            .where(AuditEvent.object_id == room_id, col(AuditEvent.at) >= since)
            .order_by(col(AuditEvent.at))
        ).scalars()
        out = []
        for e in events:
            named = set(
                s.execute(
                    select(AuditEventPatient.patient_id).where(AuditEventPatient.event_id == e.id)
                ).scalars()
            )
            out.append((e, named))
        return out


def test_socket_refusals_are_security_events_and_a_join_reads_the_patient(
    live_server: str,
    tokens: Callable[[str], str],
    make_room: Callable[..., str],
    users: dict[str, User],
    consultation: uuid.UUID,
    committed_engine: Engine,
) -> None:
    since = datetime.now(UTC).replace(microsecond=0)
    room_id = make_room(invited=(), consultation_id=consultation)
    patient_id = users["patient"].patient_id
    county_id = str(users["county-doctor"].id)
    peers: dict[str, str] = {}

    async def scenario() -> None:
        # specialist2 takes no part in the consultation: the room does not exist for them
        outsider = RoomClient(live_server, tokens("specialist2"), room_id, send_media=False)
        await outsider.connect()
        assert await outsider.wait_closed() == (4404, "room not found")
        host = RoomClient(live_server, tokens("specialist"), room_id, send_media=False)
        guest = RoomClient(live_server, tokens("county-doctor"), room_id, send_media=False)
        again = RoomClient(live_server, tokens("county-doctor"), room_id, send_media=False)
        try:
            assert (await host.join())["state"] == "admitted"
            peers["host"] = host.peer_id
            assert (await guest.join())["state"] == "waiting"
            await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
            await host.deny(county_id)
            assert (await guest.wait_closed())[0] == 4403
            # denied: coming back is refused, and that refusal is recorded too
            await again.connect()
            await again.send({"type": "join"})
            assert (await again.wait_closed())[0] == 4403
        finally:
            await again.close()
            await guest.close()
            await host.close()

    run(scenario())

    rows = _rows(committed_engine, room_id, since)
    refused = [(e, named) for e, named in rows if e.action == REFUSED]
    by_actor = {e.actor_id: (e, named) for e, named in refused}
    outsider_row, named = by_actor[users["specialist2"].id]
    assert outsider_row.object_type == "video_room"
    assert outsider_row.patient_id == patient_id and named == {patient_id}
    assert outsider_row.detail == {
        "reason": "not a participant of the room",
        "method": "WEBSOCKET",
        "path": f"/api/v1/rooms/{room_id}/ws",
    }
    assert outsider_row.ip == "127.0.0.1"
    denied_row, named = by_actor[users["county-doctor"].id]
    assert denied_row.detail["reason"] == "the host declined your admission to this room"
    assert named == {patient_id} and len(refused) == 2

    reads = [(e, named) for e, named in rows if e.action == "read" and e.detail.get("what")]
    joins = {e.actor_id: (e, named) for e, named in reads if e.detail["what"] == "join"}
    host_row, named = joins[users["specialist"].id]
    assert named == {patient_id} and host_row.request_id == peers["host"]
    # the waiting guest's first join was let in (to the waiting room): a read as well
    assert joins[users["county-doctor"].id][1] == {patient_id}
