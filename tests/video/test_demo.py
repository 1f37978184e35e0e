"""The video part of `telemed demo` runs against a served app."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session

from telemed.video import demo
from telemed.video.models import Room


def test_video_demo_holds_a_consented_recorded_session(
    live_server: str, committed_engine: Engine
) -> None:
    lines: list[str] = []
    try:
        stopped = demo.run(live_server, say=lines.append, seconds=2.0)
        assert stopped["state"] == "stopped" and stopped["duration_seconds"] > 1.0
        assert any("admits" in line for line in lines)
        assert any(line.strip().startswith("ok: recording") for line in lines)
    finally:
        with Session(committed_engine) as s:
            s.execute(delete(Room).where(Room.title == demo.DEMO_ROOM_TITLE))  # type: ignore[arg-type]
            s.commit()
        for mp4 in Path(os.environ["TELEMED_VIDEO__RECORDINGS_DIR"]).rglob("*.mp4"):
            mp4.unlink()
