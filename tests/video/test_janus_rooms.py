"""Rooms on Janus through our app: admission hands out the Janus token, nobody else gets in.

The app (a live server with Janus configured) chooses the topology, creates the Janus room
on the first admission, sends each admitted participant its own token over the signaling
socket (`sfu`), withdraws it when they leave and destroys the Janus room when the session
ends. A lecture: a presenter and 20 aiortc viewers, each admitted by the app (enrolment),
decode the presenter's frames through Janus; a doctor who is not enrolled gets no token.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from telemed.core import clock
from telemed.core.settings import get_settings
from telemed.identity.models import Role, User
from telemed.training.models import AttendanceEvent, Course, CourseStatus, Enrolment
from telemed.video.client import RoomClient
from telemed.video.models import Room
from telemed.video.sfu import JanusError, JanusRefused, JanusSession, JanusSfu, new_token
from tests.support.janus import JanusServer
from tests.video.test_janus_sfu import FRAMES, CounterPatternTrack, Viewer

pytestmark = pytest.mark.timeout(240)

JANUS_FIELDS = ("janus_url", "janus_admin_url", "janus_api_secret", "janus_admin_secret",
                "janus_room_admin_key")  # fmt: skip
LECTURE_VIEWERS = 20


@pytest.fixture(scope="module")
def janus_app(janus_server: JanusServer, live_server: str) -> Iterator[JanusServer]:
    """The live server's settings point at the test Janus for this module (restored after)."""
    video = get_settings().video
    saved = {k: getattr(video, k) for k in JANUS_FIELDS}
    video.janus_url, video.janus_admin_url = janus_server.url, janus_server.admin_url
    video.janus_api_secret, video.janus_admin_secret = (
        janus_server.api_secret,
        janus_server.admin_secret,
    )
    video.janus_room_admin_key = janus_server.room_admin_key
    yield janus_server
    for k, v in saved.items():
        setattr(video, k, v)


def _sfu(http: httpx.AsyncClient, server: JanusServer) -> JanusSfu:
    sfu = JanusSfu.from_settings(http, get_settings().video)
    assert sfu is not None
    return sfu


async def _refused(http: httpx.AsyncClient, url: str, token: str, within: float = 15) -> None:
    """Until Janus refuses a session with `token` (a withdrawal happens as the socket closes)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        session = JanusSession(http, url, token=token)
        try:
            await session.create()
        except JanusRefused:
            return
        await session.destroy()
        assert asyncio.get_running_loop().time() < deadline, "Janus still accepts the token"
        await asyncio.sleep(0.3)


async def _publish(
    http: httpx.AsyncClient,
    sfu_msg: dict[str, Any],
    *,
    display: str | None = None,
    camera: Any = None,
    microphone: MediaStreamTrack | None = None,
) -> tuple[Any, ...]:
    """Publish with an `sfu` message's token (by default the counter picture and silence):
    (session, pc, feed, camera)."""
    session = await JanusSession(http, sfu_msg["url"], token=sfu_msg["token"]).create()
    handle = await session.attach()
    pc = RTCPeerConnection()
    camera = camera or CounterPatternTrack()
    pc.addTrack(camera)
    pc.addTrack(microphone or AudioStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    feed, answer = await handle.publish(
        room=sfu_msg["room"], offer_sdp=pc.localDescription.sdp,
        display=display or sfu_msg["display"], token=sfu_msg["token"], feed=sfu_msg["feed"],
    )  # fmt: skip
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await handle.wait_publishing()
    return session, pc, feed, camera


async def _subscribe(http: httpx.AsyncClient, sfu_msg: dict[str, Any], feed: str) -> Viewer:
    """Subscribe to `feed` with the token of an `sfu` message; the viewer reads the counter."""
    session = await JanusSession(http, sfu_msg["url"], token=sfu_msg["token"]).create()
    handle = await session.attach()
    pc = RTCPeerConnection()
    viewer = Viewer(pc, session)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "video":
            asyncio.ensure_future(viewer.read(track))

    offer = await handle.subscribe(room=sfu_msg["room"], feed=feed, token=sfu_msg["token"])
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    await handle.start(pc.localDescription.sdp)
    return viewer


def _client(base: str, token: str, room_id: str) -> RoomClient:
    return RoomClient(base, token, room_id, send_media=False, mesh=False)


def test_the_server_chooses_janus_for_rooms_beyond_a_pair_and_says_so(
    janus_app: JanusServer, live_server: str, tokens: Callable[[str], str]
) -> None:
    now = clock.now()
    body = {
        "title": "MDT",
        "starts_at": (now + timedelta(minutes=5)).isoformat(),
        "ends_at": (now + timedelta(minutes=35)).isoformat(),
    }
    auth = {"Authorization": f"Bearer {tokens('specialist')}"}
    created: list[str] = []
    try:
        with httpx.Client(base_url=live_server, headers=auth) as http:
            pair = http.post("/api/v1/rooms", json={**body, "max_participants": 2})
            assert pair.status_code == 201, pair.text
            created.append(pair.json()["id"])
            assert pair.json()["mode"] == "p2p"  # 1:1 stays peer to peer
            assert pair.json()["sfu_configured"] is True
            later = {
                "starts_at": body["ends_at"],
                "ends_at": (now + timedelta(hours=1)).isoformat(),
            }
            big = http.post("/api/v1/rooms", json={**body, **later, "max_participants": 12})
            assert big.status_code == 201, big.text
            created.append(big.json()["id"])
            assert (big.json()["mode"], big.json()["max_participants"]) == ("janus", 12)
            over = http.post("/api/v1/rooms", json={**body, "mode": "janus",
                                                     "max_participants": 101})  # fmt: skip
            assert over.status_code == 422
            assert over.json()["errors"][0]["field"] == "max_participants"
    finally:
        _delete_rooms(created)


def _delete_rooms(ids: list[str]) -> None:
    from telemed.core.db import get_engine

    with Session(get_engine()) as s:
        for rid in ids:
            s.execute(delete(Room).where(col(Room.id) == uuid.UUID(rid)))
        s.commit()


def test_admission_hands_the_janus_token_to_that_participant_only(
    janus_app: JanusServer,
    live_server: str,
    tokens: Callable[[str], str],
    make_room: Callable[..., str],
) -> None:
    room_id = make_room(invited=("county-doctor",), mode="janus", max_participants=6)

    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            sfu = _sfu(http, janus_app)
            host = _client(live_server, tokens("specialist"), room_id)
            guest = _client(live_server, tokens("county-doctor"), room_id)
            outsider = _client(live_server, tokens("specialist2"), room_id)
            pcs: list[RTCPeerConnection] = []
            sessions: list[JanusSession] = []
            try:
                joined = await host.join()
                assert joined["room"]["mode"] == "janus"
                host_sfu = await host.wait_message("sfu")
                assert host_sfu["url"] == janus_app.url
                assert host_sfu["room"] == room_id and host_sfu["publish"] == "media"
                assert host_sfu["display"] == host.user_id

                # Someone not invited: closed before any token.
                await outsider.connect()
                await outsider.send({"type": "join"})
                assert (await outsider.wait_closed())[0] == 4404
                assert not [m for m in outsider.messages if m.get("type") == "sfu"]

                # The guest waits without a token until the host admits them.
                assert (await guest.join())["state"] == "waiting"
                await host.wait_message("waiting", lambda m: len(m["waiting"]) == 1)
                assert not [m for m in guest.messages if m.get("type") == "sfu"]
                await host.send({"type": "admit", "user_id": guest.user_id})
                guest_sfu = await guest.wait_message("sfu")
                assert guest_sfu["token"] != host_sfu["token"]
                # The host's socket never sees the guest's token.
                assert guest_sfu["token"] not in str(host.messages)

                # Media through Janus with the tokens the app handed out.
                session, pc, feed, camera = await _publish(http, host_sfu)
                sessions.append(session)
                pcs.append(pc)
                viewer = await _subscribe(http, guest_sfu, feed)
                sessions.append(viewer.session)
                pcs.append(viewer.pc)
                await asyncio.wait_for(viewer.enough.wait(), 60)
                assert viewer.counters[-1] - viewer.counters[0] >= FRAMES - 1
                assert viewer.counters[-1] < camera.sent

                # A made-up token, or the host's token in another Janus room: refused.
                with pytest.raises(JanusRefused):
                    await JanusSession(http, janus_app.url, token=new_token()).create()

                # The guest leaves: Janus refuses their token from then on.
                await guest.send({"type": "bye"})
                await guest.wait_closed()
                await _refused(http, janus_app.url, guest_sfu["token"])
                # The host stays admitted in Janus meanwhile.
                listed = await sfu.participants(room=room_id)
                assert [p["display"] for p in listed] == [host.user_id]

                # The last one out ends the session: the Janus room is destroyed.
                await host.send({"type": "bye"})
                await host.wait_closed()
                for _ in range(50):
                    try:
                        await sfu.participants(room=room_id)
                    except JanusError as exc:
                        assert exc.code == 426  # no such room
                        break
                    await asyncio.sleep(0.2)
                else:
                    pytest.fail("the Janus room outlived the session")
                await _refused(http, janus_app.url, host_sfu["token"])
            finally:
                for p in pcs:
                    await p.close()
                for s in sessions:
                    await s.destroy()
                for c in (host, guest, outsider):
                    await c.close()
                await sfu.close()

    asyncio.run(asyncio.wait_for(scenario(), 180))


@pytest.fixture
def lecture(committed_engine: Engine) -> Iterator[dict[str, Any]]:
    """A published lecture of the demo specialist with 20 enrolled county doctors."""
    now = clock.now()
    with Session(committed_engine) as s:
        speaker = s.execute(select(User).where(col(User.username) == "specialist")).scalar_one()
        doctors = list(
            s.execute(
                select(User)
                .where(col(User.role) == Role.COUNTY_DOCTOR, col(User.username).like("dr-%"))
                .order_by(col(User.username))
                .limit(LECTURE_VIEWERS + 1)
            ).scalars()
        )
        assert len(doctors) == LECTURE_VIEWERS + 1
        assert speaker.institution_id is not None
        course = Course(
            title="基层高血压管理直播",
            speaker_id=speaker.id,
            institution_id=speaker.institution_id,
            specialty_code="cardiology",
            target_tiers=["county"],
            starts_at=now + timedelta(minutes=5),
            ends_at=now + timedelta(minutes=65),
            capacity=100,
            enrolled_count=LECTURE_VIEWERS,
            status=CourseStatus.PUBLISHED,
            created_by=speaker.id,
            created_at=now,
        )
        s.add(course)
        s.flush()
        for d in doctors[:LECTURE_VIEWERS]:
            s.add(Enrolment(course_id=course.id, user_id=d.id, enrolled_at=now))
        s.commit()
        info = {
            "course_id": str(course.id),
            "viewers": [d.username for d in doctors[:LECTURE_VIEWERS]],
            "outsider": doctors[LECTURE_VIEWERS].username,
        }
    yield info
    with Session(committed_engine) as s:
        course = s.get(Course, uuid.UUID(info["course_id"]))
        assert course is not None
        ids = select(col(Enrolment.id)).where(col(Enrolment.course_id) == course.id)
        s.execute(delete(AttendanceEvent).where(col(AttendanceEvent.enrolment_id).in_(ids)))
        s.execute(delete(Enrolment).where(col(Enrolment.course_id) == course.id))
        room_id = course.room_id
        s.delete(course)
        s.flush()
        if room_id is not None:
            s.execute(delete(Room).where(col(Room.id) == room_id))
        s.commit()


def test_a_lecture_admits_enrolled_doctors_and_20_viewers_decode_the_presenter_through_janus(
    janus_app: JanusServer,
    live_server: str,
    tokens: Callable[[str], str],
    lecture: dict[str, Any],
    committed_engine: Engine,
) -> None:
    # The speaker opens the lecture's live room; a doctor who is not enrolled cannot.
    course_id = lecture["course_id"]
    url = f"/api/v1/training/courses/{course_id}/room"
    with httpx.Client(base_url=live_server) as http:
        refused = http.post(url, headers={"Authorization": f"Bearer {tokens(lecture['outsider'])}"})
        assert refused.status_code == 403, refused.text
        r = http.post(url, headers={"Authorization": f"Bearer {tokens('specialist')}"})
        assert r.status_code == 200, r.text
        room_id = r.json()["room_id"]
        assert http.post(url, headers={"Authorization": f"Bearer {tokens('specialist')}"}).json()[
            "room_id"
        ] == room_id  # fmt: skip
        room = http.get(
            f"/api/v1/rooms/{room_id}", headers={"Authorization": f"Bearer {tokens('specialist')}"}
        ).json()
        assert (room["kind"], room["mode"]) == ("training", "janus")
    viewer_tokens = [tokens(u) for u in lecture["viewers"]]
    outsider_token = tokens(lecture["outsider"])

    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            presenter = _client(live_server, tokens("specialist"), room_id)
            outsider = _client(live_server, outsider_token, room_id)
            clients = [_client(live_server, t, room_id) for t in viewer_tokens]
            pcs: list[RTCPeerConnection] = []
            sessions: list[JanusSession] = []
            try:
                await presenter.join()
                p_sfu = await presenter.wait_message("sfu")
                assert p_sfu["publish"] == "media"
                session, pc, feed, camera = await _publish(http, p_sfu)
                sessions.append(session)
                pcs.append(pc)

                # Not enrolled: refused before any token.
                await outsider.connect()
                await outsider.send({"type": "join"})
                assert (await outsider.wait_closed())[0] == 4404
                assert not [m for m in outsider.messages if m.get("type") == "sfu"]

                # Enrolled doctors enter without a waiting room, as viewers.
                viewers: list[Viewer] = []
                v_sfus: list[dict[str, Any]] = []
                for c in clients:
                    assert (await c.join(within=30))["state"] == "admitted"
                    v_sfu = await c.wait_message("sfu", within=30)
                    assert v_sfu["publish"] == "none"
                    v_sfus.append(v_sfu)
                    viewer = await _subscribe(http, v_sfu, feed)
                    viewers.append(viewer)
                    sessions.append(viewer.session)
                    pcs.append(viewer.pc)
                await asyncio.wait_for(asyncio.gather(*(v.enough.wait() for v in viewers)), 120)
                for v in viewers:
                    steps = [b - a for a, b in zip(v.counters, v.counters[1:], strict=False)]
                    assert all(s > 0 for s in steps), v.counters
                    assert v.counters[-1] < camera.sent
                    assert v.unreadable <= len(v.counters) // 10, (v.unreadable, v.counters)

                # An attendee without the word who publishes anyway, even shown as the
                # presenter, is dropped from Janus by the presenter's guard.
                sfu = _sfu(http, janus_app)
                for shown in (None, presenter.user_id):
                    try:
                        rogue = await _publish(http, v_sfus[1], display=shown)
                    except (JanusError, TimeoutError):
                        pass  # dropped before Janus had its media: as good
                    else:
                        sessions.append(rogue[0])
                        pcs.append(rogue[1])
                    for _ in range(60):
                        listed = await sfu.participants(room=room_id)
                        publishing = [p for p in listed if p.get("publisher")]
                        if len(publishing) == 1:
                            break
                        await asyncio.sleep(0.25)
                    assert [p["id"] for p in publishing] == [feed], listed
                await sfu.close()

                # A raised hand: the presenter sees it and lets that attendee speak.
                first = clients[0]
                await first.send({"type": "hand", "raised": True})
                await presenter.wait_message(
                    "participants",
                    lambda m: any(p["user_id"] == first.user_id and p["hand"]
                                  for p in m["participants"]),
                )  # fmt: skip
                await first.send({"type": "speak", "user_id": first.user_id, "allowed": True})
                assert (await first.wait_message("error"))["code"] == "forbidden"
                await presenter.send({"type": "speak", "user_id": first.user_id, "allowed": True})
                told = await first.wait_message("speak")
                assert (told["user_id"], told["allowed"]) == (first.user_id, True)
                await presenter.wait_message(
                    "participants",
                    lambda m: any(p["user_id"] == first.user_id and p["speaking"]
                                  and p["hand"] is None for p in m["participants"]),
                )  # fmt: skip
                await presenter.send({"type": "speak", "user_id": first.user_id, "allowed": False})
                taken = await first.wait_message("speak")
                assert taken["allowed"] is False

                with Session(committed_engine) as s:
                    joined = s.execute(
                        select(Enrolment).where(
                            col(Enrolment.course_id) == uuid.UUID(course_id),
                            col(Enrolment.joined_at).is_not(None),
                        )
                    ).all()
                    assert len(joined) == LECTURE_VIEWERS  # attendance fed by the room
                await first.send({"type": "bye"})
                await first.wait_closed()
            finally:
                for p in pcs:
                    await p.close()
                for s in sessions:
                    with contextlib.suppress(Exception):
                        await s.destroy()
                for c in (presenter, outsider, *clients):
                    await c.close()

    asyncio.run(asyncio.wait_for(scenario(), 200))

    def attendance() -> list[str]:
        with Session(committed_engine) as s:
            return list(
                s.execute(
                    select(AttendanceEvent.kind)
                    .join(Enrolment, col(Enrolment.id) == AttendanceEvent.enrolment_id)
                    .where(col(Enrolment.course_id) == uuid.UUID(course_id))
                ).scalars()
            )

    for _ in range(100):  # the server records the last leaves as their sockets close
        if attendance().count("leave") == LECTURE_VIEWERS:
            break
        time.sleep(0.2)
    assert attendance().count("join") == LECTURE_VIEWERS
    assert attendance().count("leave") == LECTURE_VIEWERS
