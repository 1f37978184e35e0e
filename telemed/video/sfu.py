"""Janus VideoRoom as the SFU of rooms beyond a pair (issue 21): an async client of its HTTP API.

Janus forwards media without re-encoding; our app keeps authentication, invitations, the
waiting room and admission. Two kinds of caller talk to Janus:

- **the app** (`JanusSfu`, authenticated with the API secret; tokens through the Admin API
  with the admin secret): creates a room (`secret`, the `allowed` token list, simulcast-capable
  VP8 publishers, `audiolevel_event`), and on admission hands the participant a token that
  Janus accepts for the VideoRoom plugin and that the room lists as allowed; destroys it;
- **a participant** (`JanusSession` with that token): attaches to the VideoRoom, publishes
  (join as publisher, then configure with an SDP offer) or subscribes (join as subscriber,
  Janus offers, start with the answer), and keeps the session alive.

Errors (one tree)::

    JanusError            Janus answered an error (`code`, `reason`) or could not be reached
     └── JanusRefused     authentication or room access refused (Janus 403, VideoRoom 433)
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from telemed.core.settings import VideoSettings

__all__ = [
    "JanusError",
    "JanusHandle",
    "JanusRefused",
    "JanusSession",
    "JanusSfu",
    "VIDEOROOM",
    "new_token",
    "video_mid",
]

VIDEOROOM = "janus.plugin.videoroom"
# Janus core 403 (wrong or missing secret/token), 405 (token not allowed for the plugin);
# VideoRoom 433 (JANUS_VIDEOROOM_ERROR_UNAUTHORIZED: not in the room's allowed list / pin).
REFUSED_CODES = {403, 405, 433}


class JanusError(Exception):
    """Janus answered an error, or did not answer."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusRefused(JanusError):
    """Janus or the VideoRoom refused the caller (no or wrong token, not allowed in the room)."""


def new_token() -> str:
    """A fresh random room token (what an admitted participant presents to Janus)."""
    return secrets.token_urlsafe(24)


def _error(code: int, reason: str) -> JanusError:
    return (JanusRefused if code in REFUSED_CODES else JanusError)(code, reason)


def _transaction() -> str:
    return secrets.token_hex(8)


class JanusSession:
    """One Janus session over HTTP: requests by POST, events by long poll (`GET ?maxev=`)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        *,
        apisecret: str | None = None,
        token: str | None = None,
    ) -> None:
        self.http = http
        self.url = url.rstrip("/")
        self.auth: dict[str, str] = {}
        if apisecret:
            self.auth["apisecret"] = apisecret
        if token:
            self.auth["token"] = token
        self.id: int | None = None
        self.handles: dict[int, JanusHandle] = {}
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def post(self, path: str, message: dict[str, Any]) -> dict[str, Any]:
        """POST one Janus message; returns the answer, raising `JanusError` on an `error`."""
        body = {"transaction": _transaction(), **self.auth, **message}
        try:
            r = await self.http.post(self.url + path, json=body)
        except httpx.HTTPError as exc:
            raise JanusError(0, f"janus unreachable: {exc}") from exc
        reply: dict[str, Any] = r.json()
        if reply.get("janus") == "error":
            err = reply.get("error", {})
            raise _error(int(err.get("code", 0)), str(err.get("reason", "")))
        return reply

    async def create(self) -> JanusSession:
        """Create the session (refused with `JanusRefused` without a valid secret or token)."""
        reply = await self.post("", {"janus": "create"})
        self.id = int(reply["data"]["id"])
        return self

    async def attach(self, plugin: str = VIDEOROOM) -> JanusHandle:
        """Attach a handle to a plugin (a token must be allowed for it)."""
        reply = await self.post(f"/{self.id}", {"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(reply["data"]["id"]))
        self.handles[handle.id] = handle
        return handle

    async def keepalive(self) -> None:
        """Tell Janus the session is alive (it drops silent ones after `session_timeout`)."""
        await self.post(f"/{self.id}", {"janus": "keepalive"})

    def expect(self, transaction: str) -> asyncio.Future[dict[str, Any]]:
        """A future for the event answering `transaction`; starts the long poll."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = fut
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        return fut

    async def _poll(self) -> None:
        params = {"maxev": "10", **self.auth}
        while self.id is not None:
            try:
                r = await self.http.get(f"{self.url}/{self.id}", params=params, timeout=40.0)
                events = r.json()
            except (httpx.HTTPError, ValueError):
                await asyncio.sleep(0.5)
                continue
            for event in events if isinstance(events, list) else [events]:
                self._dispatch(event)

    def _dispatch(self, event: dict[str, Any]) -> None:
        fut = self._waiting.pop(str(event.get("transaction")), None)
        if fut is not None and not fut.done():
            fut.set_result(event)
            return
        handle = self.handles.get(int(event.get("sender") or 0))
        if handle is not None:
            handle.events.put_nowait(event)

    async def destroy(self) -> None:
        """Destroy the session (its handles leave their rooms) and stop polling."""
        if self.id is None:
            return
        with contextlib.suppress(JanusError):
            await self.post(f"/{self.id}", {"janus": "destroy"})
        self.id = None
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller


@dataclass
class JanusHandle:
    """A handle attached to the VideoRoom plugin."""

    session: JanusSession
    id: int
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    @property
    def path(self) -> str:
        return f"/{self.session.id}/{self.id}"

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (create, allowed, destroy, …): the plugin's data."""
        reply = await self.session.post(self.path, {"janus": "message", "body": body})
        return _plugin_data(reply)

    async def send(
        self, body: dict[str, Any], jsep: dict[str, Any] | None = None, *, within: float = 20
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """An asynchronous request (join, configure, start): the event answering it and its jsep."""
        transaction = _transaction()
        fut = self.session.expect(transaction)
        message: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            message["jsep"] = jsep
        try:
            await self.session.post(self.path, message)
            event = await asyncio.wait_for(fut, within)
        finally:
            self.session._waiting.pop(transaction, None)
        return _plugin_data(event), event.get("jsep")

    async def wait_event(self, janus: str, within: float = 20, **fields: Any) -> dict[str, Any]:
        """The next event of type `janus` (`webrtcup`, `media`, …) of this handle with `fields`."""

        async def _next() -> dict[str, Any]:
            while True:
                event = await self.events.get()
                if event.get("janus") == janus and all(
                    event.get(k) == v for k, v in fields.items()
                ):
                    return event

        return await asyncio.wait_for(_next(), within)

    async def trickle_done(self) -> None:
        """Our candidates are all in the SDP (aiortc gathers them at once)."""
        await self.session.post(self.path, {"janus": "trickle", "candidate": {"completed": True}})

    async def publish(
        self,
        *,
        room: str,
        offer_sdp: str,
        display: str,
        token: str | None = None,
        feed: str | None = None,
    ) -> tuple[str, str]:
        """Join `room` as a publisher (as `feed`, when given) and configure with an SDP offer:
        (feed id, answer SDP)."""
        body: dict[str, Any] = {"request": "join", "ptype": "publisher", "room": room}
        body["display"] = display
        if feed:
            body["id"] = feed
        if token:
            body["token"] = token
        joined, _ = await self.send(body)
        data, jsep = await self.send(
            {"request": "configure", "audio": True, "video": True},
            {"type": "offer", "sdp": offer_sdp},
        )
        if jsep is None:
            raise JanusError(0, f"no answer to the publisher's offer: {data}")
        await self.trickle_done()
        return str(joined["id"]), str(jsep["sdp"])

    async def wait_publishing(self, within: float = 20) -> None:
        """Until Janus receives this publisher's video (a feed is subscribable only then)."""
        await self.wait_event("media", within, type="video", receiving=True)

    async def subscribe(self, *, room: str, feed: str, token: str | None = None) -> str:
        """Join `room` as a subscriber of `feed`: Janus's SDP offer."""
        body: dict[str, Any] = {
            "request": "join",
            "ptype": "subscriber",
            "room": room,
            "streams": [{"feed": feed}],
        }
        if token:
            body["token"] = token
        data, jsep = await self.send(body)
        if jsep is None:
            raise JanusError(0, f"no offer for the subscriber: {data}")
        return str(jsep["sdp"])

    async def start(self, answer_sdp: str) -> None:
        """Answer the subscriber offer; media flows after this."""
        await self.send({"request": "start"}, {"type": "answer", "sdp": answer_sdp})
        await self.trickle_done()

    async def set_layer(self, *, mid: str, substream: int, temporal: int | None = None) -> None:
        """A subscriber asks for a simulcast layer of the video at `mid` (its m-line in
        Janus's offer, see `video_mid`): substream 0 (lowest resolution) to 2, temporal
        layers 0 to 2 (None: all). Janus switches at the next keyframe of that layer."""
        stream: dict[str, Any] = {"mid": mid, "substream": substream}
        if temporal is not None:
            stream["temporal"] = temporal
        await self.send({"request": "configure", "streams": [stream]})


def video_mid(sdp: str) -> str | None:
    """The `a=mid` of the first video m-line of an SDP (what `set_layer` names)."""
    in_video = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            in_video = line.startswith("m=video")
        elif in_video and line.startswith("a=mid:"):
            return line[len("a=mid:") :].strip()
    return None


def _plugin_data(reply: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
    if "error_code" in data:
        raise _error(int(data["error_code"]), str(data.get("error", "")))
    return data


class JanusSfu:
    """The app's side: rooms and tokens (API secret, Admin API secret, VideoRoom admin key)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        admin_url: str,
        api_secret: str,
        admin_secret: str,
        room_admin_key: str | None = None,
    ) -> None:
        self.http = http
        self.url = url
        self.admin_url = admin_url.rstrip("/")
        self.api_secret = api_secret
        self.admin_secret = admin_secret
        self.room_admin_key = room_admin_key
        self._session: JanusSession | None = None
        self._handle: JanusHandle | None = None

    @classmethod
    def from_settings(cls, http: httpx.AsyncClient, video: VideoSettings) -> JanusSfu | None:
        """The configured Janus (`TELEMED_VIDEO__JANUS_*`), or None when none is configured."""
        if not (video.janus_url and video.janus_admin_url):
            return None
        if not (video.janus_api_secret and video.janus_admin_secret):
            return None  # development without secrets: settings refuse this elsewhere
        return cls(
            http,
            url=video.janus_url,
            admin_url=video.janus_admin_url,
            api_secret=video.janus_api_secret,
            admin_secret=video.janus_admin_secret,
            room_admin_key=video.janus_room_admin_key,
        )

    async def _control(self) -> JanusHandle:
        if self._handle is None:
            self._session = await JanusSession(
                self.http, self.url, apisecret=self.api_secret
            ).create()
            self._handle = await self._session.attach(VIDEOROOM)
        return self._handle

    async def _admin(self, message: dict[str, Any]) -> dict[str, Any]:
        body = {"transaction": _transaction(), "admin_secret": self.admin_secret, **message}
        try:
            r = await self.http.post(self.admin_url, json=body)
        except httpx.HTTPError as exc:
            raise JanusError(0, f"janus admin API unreachable: {exc}") from exc
        reply: dict[str, Any] = r.json()
        if reply.get("janus") == "error":
            err = reply.get("error", {})
            raise _error(int(err.get("code", 0)), str(err.get("reason", "")))
        return reply

    async def create_room(
        self, *, room: str, secret: str, description: str, publishers: int = 6
    ) -> None:
        """Create a private room that only listed tokens may join (simulcast-capable VP8)."""
        body: dict[str, Any] = {
            "request": "create",
            "room": room,
            "description": description[:64],
            "secret": secret,
            "is_private": True,
            "publishers": publishers,
            "allowed": [],
            "videocodec": "vp8",
            "audiocodec": "opus",
            "audiolevel_event": True,
            "audio_active_packets": 50,
            "audio_level_average": 40,
            "bitrate": 1_024_000,
            "notify_joining": True,
            # recording is the app's to start and stop (janus_recording), never a publisher's
            "lock_record": True,
        }
        if self.room_admin_key:
            body["admin_key"] = self.room_admin_key
        await (await self._control()).request(body)

    async def grant(self, *, room: str, secret: str, token: str) -> None:
        """Admission: Janus accepts `token` for the VideoRoom, and the room lists it as allowed."""
        await self._admin({"janus": "add_token", "token": token, "plugins": [VIDEOROOM]})
        await (await self._control()).request(
            {
                "request": "allowed",
                "room": room,
                "secret": secret,
                "action": "add",
                "allowed": [token],
            }
        )

    async def revoke(self, *, room: str, secret: str, token: str) -> None:
        """The token no longer opens the room nor Janus (sessions already open stay)."""
        with contextlib.suppress(JanusError):
            await (await self._control()).request(
                {
                    "request": "allowed",
                    "room": room,
                    "secret": secret,
                    "action": "remove",
                    "allowed": [token],
                }
            )
        with contextlib.suppress(JanusError):
            await self._admin({"janus": "remove_token", "token": token})

    async def set_recording(
        self, *, room: str, secret: str, record: bool, rec_dir: str | None = None
    ) -> None:
        """Janus records every publisher of `room` (or stops): `.mjr` files in `rec_dir`.

        The room's recording is locked first (`new_lock_record`): a participant's own
        `configure` with `record` or `filename` no longer changes it, only the room secret."""
        control = await self._control()
        edit: dict[str, Any] = {"request": "edit", "room": room, "secret": secret}
        edit["new_lock_record"] = True
        if rec_dir is not None:
            edit["new_rec_dir"] = rec_dir
        await control.request(edit)
        await control.request(
            {"request": "enable_recording", "room": room, "secret": secret, "record": record}
        )

    async def participants(self, *, room: str) -> list[dict[str, Any]]:
        """The room's participants (`id`, `display`, `publisher`, …: VideoRoom listparticipants)."""
        data = await (await self._control()).request({"request": "listparticipants", "room": room})
        return list(data.get("participants", []))

    async def kick(self, *, room: str, secret: str, participant: str) -> None:
        """Drop one participant (a publisher's id) from the room."""
        await (await self._control()).request(
            {"request": "kick", "room": room, "secret": secret, "id": participant}
        )

    async def destroy_room(self, *, room: str, secret: str) -> None:
        """Destroy the room (its participants are told and dropped)."""
        await (await self._control()).request(
            {"request": "destroy", "room": room, "secret": secret}
        )

    async def close(self) -> None:
        """Destroy the app's control session."""
        if self._session is not None:
            await self._session.destroy()
        self._session = self._handle = None
