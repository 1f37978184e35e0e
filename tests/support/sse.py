"""A Server-Sent Events reader over real HTTP, for tests of `GET /api/v1/events`: the
stream is read in a thread; every event is kept (`received`), in order, and a test waits
for the first one that matches (`expect`), wherever it came in the stream."""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    name: str
    id: str | None
    data: Any


class Stream:
    """One open `GET /api/v1/events` as `token`; `close()` ends it."""

    def __init__(self, base_url: str, token: str, last_event_id: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.received: list[Event] = []
        self.ended = False
        self.comments: list[str] = []
        self._comment = threading.Condition()
        self.status: int | None = None
        self._opened = threading.Event()
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(5, read=60))
        self._headers = headers
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._opened.wait(30), "the stream did not open"

    def _read(self) -> None:
        try:
            with self._client.stream("GET", "/api/v1/events", headers=self._headers) as r:
                self.status = r.status_code
                self._opened.set()
                fields: dict[str, str] = {}
                for line in r.iter_lines():
                    if line.startswith(":"):
                        with self._comment:
                            self.comments.append(line)
                            self._comment.notify_all()
                    elif not line:
                        if "event" in fields or "data" in fields:
                            data = json.loads(fields["data"]) if "data" in fields else None
                            event = Event(fields.get("event", "message"), fields.get("id"), data)
                            with self._comment:
                                self.received.append(event)
                                self._comment.notify_all()
                            self.events.put(event)
                        fields = {}
                    else:
                        key, _, value = line.partition(":")
                        fields[key] = value.removeprefix(" ")
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self._opened.set()
            with self._comment:
                self.ended = True
                self._comment.notify_all()
            self.events.put(None)  # the stream ended

    def next(self, name: str | None = None, timeout: float = 15) -> Event | None:
        """The next event (named `name`, others skipped), None when the stream ended;
        fails after `timeout` seconds without one."""
        while True:
            try:
                event = self.events.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {name or 'event'} within {timeout} s") from None
            if event is None or name is None or event.name == name:
                return event

    def expect(self, name: str, timeout: float = 15, **data: Any) -> Event:
        """The first event received named `name` whose data has the items `data`."""

        def found() -> Event | None:
            for event in self.received:
                if event.name == name and all(event.data.get(k) == v for k, v in data.items()):
                    return event
            return None

        with self._comment:
            self._comment.wait_for(lambda: found() is not None or self.ended, timeout)
            event = found()
        assert event is not None, f"no {name} {data} within {timeout} s (ended: {self.ended})"
        return event

    def keepalives(self, count: int, timeout: float = 15) -> None:
        """Wait for `count` more keep-alive comments (the server had nothing to send)."""
        with self._comment:
            seen = len(self.comments)
            ok = self._comment.wait_for(lambda: len(self.comments) >= seen + count, timeout)
        assert ok, f"no {count} keep-alives within {timeout} s"

    def drain(self) -> list[Event]:
        """The events received so far (without waiting)."""
        out = []
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return out
            if event is not None:
                out.append(event)

    def close(self) -> None:
        self._client.close()
        self._thread.join(10)
