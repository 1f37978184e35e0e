"""Notifications link to their item and say whose it is to those who may see it; the
unread count by REST; a slow subscriber never holds up a writer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from telemed.core.live import Hub, Wake

Login = Callable[[str], dict[str, str]]


def _unread(client: TestClient, headers: dict[str, str]) -> int:
    r = client.get("/api/v1/notifications/unread-count", headers=headers)
    assert r.status_code == 200, r.text
    return int(r.json()["unread"])


def test_a_request_notification_links_to_it_and_names_its_patient_by_id(
    client: TestClient, login: Login, make_request: Callable[..., dict[str, Any]]
) -> None:
    spec = login("specialist2")
    before = _unread(client, spec)
    c = make_request(urgency="emergency")
    assert _unread(client, spec) == before + 1
    notes = client.get("/api/v1/notifications", headers=spec).json()
    note = next(n for n in notes if n["data"].get("consultation_id") == c["id"])
    assert note["kind"] == "consultation.incoming"
    assert note["data"]["link"] == {"kind": "consultation", "id": c["id"]}
    assert note["data"]["patient_id"] == c["patient_id"]
    # opening it marks it read: the count goes back down
    r = client.post(f"/api/v1/notifications/{note['id']}/read", headers=spec)
    assert r.status_code == 200 and r.json()["read_at"]
    assert _unread(client, spec) == before


def test_the_worklist_counts_what_each_request_brings(
    client: TestClient, login: Login, make_request: Callable[..., dict[str, Any]]
) -> None:
    c = make_request()
    doc = client.post(
        f"/api/v1/consultations/{c['id']}/documents",
        files={"file": ("ecg.pdf", b"%PDF-1.4 test", "application/pdf")},
        data={"kind": "consent_form"},
        headers=login("county-doctor"),
    )
    assert doc.status_code == 201, doc.text
    page = client.get(
        "/api/v1/consultations", params={"limit": 200}, headers=login("specialist2")
    ).json()
    row = next(i for i in page["items"] if i["id"] == c["id"])
    assert (row["studies_count"], row["documents_count"]) == (0, 1)
    assert row["question"] == "请协助明确结节性质"


def test_a_full_subscriber_is_marked_behind_and_the_writer_goes_on() -> None:
    async def scenario() -> tuple[int, bool, int]:
        hub = Hub()
        me = uuid.uuid4()
        slow = hub.subscribe(me, queue_size=2)
        other = hub.subscribe(uuid.uuid4(), queue_size=2)
        for _ in range(50):  # nobody reads: dispatching never waits
            hub.dispatch(Wake("n", user=me))
        await asyncio.sleep(0)  # the loop runs the queued offers
        await asyncio.sleep(0)
        return slow.queue.qsize(), slow.behind, other.queue.qsize()

    size, behind, others = asyncio.run(scenario())
    assert (size, behind) == (2, True)
    assert others == 0  # another user's notification wake-ups never reach this one
