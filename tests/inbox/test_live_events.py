"""The push channel `GET /api/v1/events` over real HTTP: two app instances (separate
processes) on one PostgreSQL, writes committed by this process or through the other
instance, delivered by LISTEN/NOTIFY on commit. Each user hears only of their own
notifications and of the requests their lists show them; a reconnect with Last-Event-ID
is told what it missed; a logout ends the stream."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.consultations.committed import committed_request, purge
from tests.support.sse import Stream
from tests.support.uvicorn import instances


@pytest.fixture(scope="module")
def servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two instances; keep-alive (and the token re-check) every half second."""
    tmp: Path = tmp_path_factory.mktemp("live")
    with instances(database_url, tmp, TELEMED_LIVE__KEEPALIVE_SECONDS="0.5") as urls:
        yield urls


def token(base: str, username: str) -> str:
    r = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": "telemed-demo"}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def unread(base: str, tok: str) -> int:
    r = httpx.get(
        f"{base}/api/v1/notifications/unread-count", headers={"Authorization": f"Bearer {tok}"}
    )
    assert r.status_code == 200, r.text
    return int(r.json()["unread"])


@pytest.fixture
def requests_made(committed_engine: Engine) -> Iterator[list[uuid.UUID]]:
    made: list[uuid.UUID] = []
    yield made
    for cid in made:
        purge(committed_engine, cid)


def worklist_event_for(stream: Stream, cid: uuid.UUID, change: str) -> dict[str, str]:
    """The worklist event telling that `cid` reached `change` (a request created and
    submitted in one transaction announces both states)."""
    event = stream.expect("worklist", kind="consultation", id=str(cid), change=change)
    return dict(event.data)


def test_a_new_request_reaches_its_specialist_and_requester_and_nobody_else(
    servers: list[str], committed_engine: Engine, requests_made: list[uuid.UUID]
) -> None:
    base = servers[1]
    spec_token = token(base, "specialist2")
    streams = {
        name: Stream(base, tok)
        for name, tok in {
            "specialist2": spec_token,
            "county-doctor": token(base, "county-doctor"),
            "pathologist": token(base, "pathologist"),
        }.items()
    }
    try:
        for s in streams.values():
            assert s.status == 200
            first = s.next("unread")  # every stream starts with the unread count
            assert first is not None and isinstance(first.data["unread"], int)
        before = unread(base, spec_token)

        cid = committed_request(committed_engine)  # written and committed by this process
        requests_made.append(cid)

        note = streams["specialist2"].expect("notification", kind="consultation.incoming")
        assert note.data["unread"] == unread(base, spec_token) == before + 1
        assert worklist_event_for(streams["specialist2"], cid, "submitted")
        # the requester's list shows it: a worklist event, but no notification of someone else
        assert worklist_event_for(streams["county-doctor"], cid, "submitted")
        # a pathologist of the same hospital takes no part: two keep-alives later (the
        # wake-up reached every stream at once), nothing about it came
        streams["pathologist"].keepalives(2)
    finally:
        for s in streams.values():
            s.close()
    pathologist, requester = streams["pathologist"].received, streams["county-doctor"].received
    assert [e for e in pathologist if e.name == "worklist" and e.data["id"] == str(cid)] == []
    assert [e for e in pathologist + requester if e.name == "notification"] == []


def test_a_request_submitted_through_one_instance_is_pushed_by_the_other(
    servers: list[str], committed_engine: Engine, requests_made: list[uuid.UUID]
) -> None:
    writer, reader = servers
    spec = Stream(reader, token(reader, "specialist2"))
    try:
        spec.next("unread")
        cd = {"Authorization": f"Bearer {token(writer, 'county-doctor')}"}
        patient = httpx.get(f"{writer}/api/v1/patients", params={"q": "巴特尔"}, headers=cd)
        assert patient.status_code == 200, patient.text
        body = {
            "patient_id": patient.json()[0]["id"],
            "service_class": "imaging_diagnosis",
            "urgency": "emergency",
            "summary": "胸痛",
            "question": "请会诊",
            "wanted_specialty": "radiology",
            "consent": {
                "given_by": "巴特尔",
                "method": "verbal",
                "given_at": "2026-11-01T08:00:00+00:00",
            },
        }
        r = httpx.post(f"{writer}/api/v1/consultations", json=body, headers=cd)
        assert r.status_code == 201, r.text
        cid = uuid.UUID(r.json()["id"])
        requests_made.append(cid)
        r = httpx.post(f"{writer}/api/v1/consultations/{cid}/submit", headers=cd)
        assert r.status_code == 200, r.text
        assert worklist_event_for(spec, cid, "submitted")
    finally:
        spec.close()


def test_a_reconnect_with_last_event_id_is_told_what_it_missed(
    servers: list[str], committed_engine: Engine, requests_made: list[uuid.UUID]
) -> None:
    base = servers[0]
    tok = token(base, "specialist2")
    first = Stream(base, tok)
    opened = first.next("unread")
    first.close()
    assert opened is not None and opened.id is not None

    missed = [committed_request(committed_engine) for _ in range(2)]  # while disconnected
    requests_made.extend(missed)

    again = Stream(base, tok, last_event_id=opened.id)
    try:
        replayed = [again.next("notification"), again.next("notification")]
        assert [e.data["kind"] for e in replayed if e] == ["consultation.incoming"] * 2
        ids = [e.id for e in replayed if e]
        assert len(set(ids)) == 2
        # and a fresh connection (no Last-Event-ID) is not told them again
        fresh = Stream(base, tok)
        try:
            assert fresh.next().name == "unread"  # type: ignore[union-attr]
            fresh.keepalives(2)
            assert [e.name for e in fresh.drain()] == []
        finally:
            fresh.close()
    finally:
        again.close()


def test_logging_out_ends_the_stream(servers: list[str]) -> None:
    writer, reader = servers
    tok = token(writer, "pathologist")
    stream = Stream(reader, tok)
    try:
        stream.next("unread")
        r = httpx.post(f"{writer}/api/v1/auth/logout", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 204, r.text
        end = stream.next("end")
        assert end is not None and end.data == {"reason": "token_invalid"}
        assert stream.next() is None  # and the server closed it
    finally:
        stream.close()


def test_no_token_is_a_401_problem(servers: list[str]) -> None:
    r = httpx.get(f"{servers[0]}/api/v1/events")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
