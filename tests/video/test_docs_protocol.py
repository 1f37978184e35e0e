"""docs/video.md names every error code and close code the signaling server uses, rightly."""

from __future__ import annotations

import re
from pathlib import Path

from telemed.video import signaling

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "video.md").read_text()
SOURCES = [
    ROOT / "telemed" / "video" / f
    for f in (
        "signaling.py",
        "handlers.py",
        "protocol.py",
        "server_peer.py",
        "service.py",
        "rooms.py",
        "presence.py",
        "chat.py",
        "recordings.py",
    )
]
REST_ONLY = {"room_exists"}  # refused by POST /rooms, never on the socket


def _section(title: str) -> str:
    start = DOC.index(title)
    return DOC[start : DOC.index("\n## ", start)]


def _documented_codes() -> set[str]:
    errors = _section("### 7. Errors and close codes")
    listed = errors[errors.index('"detail": "…"}`') : errors.index("Rate limit")]
    return set(re.findall(r"`([a-z_]+)`", listed))


def _used_codes() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        text = path.read_text()
        found |= set(re.findall(r'code="([a-z_]+)"', text))
        found |= set(re.findall(r'self\.error\(\s*"([a-z_]+)"', text))
        found |= set(re.findall(r'BadMessage\([^()]*(?:\([^()]*\)[^()]*)*,\s*"([a-z_]+)"\)', text))
        found |= set(re.findall(r'_refuse\(\s*\w+,\s*"([a-z_]+)"', text))
        found |= set(re.findall(r'_refuse\(\s*\w+,\s*"[a-z_]+" if .*? else "([a-z_]+)"', text))
    # the default codes of the domain errors the socket reports
    return found | {"bad_message", "forbidden", "invalid"}


def test_every_error_code_the_socket_sends_is_documented() -> None:
    used = _used_codes() - REST_ONLY
    assert {"no_offer", "unknown_peer", "not_recording", "not_waiting"} <= used
    assert used <= _documented_codes(), used - _documented_codes()


def test_the_close_code_table_is_the_servers() -> None:
    rows = dict(re.findall(r"^\| (\d{4}) \| (.+) \|$", _section("### 7. Errors"), re.M))
    constants = {
        getattr(signaling, name): name for name in dir(signaling) if name.startswith("CLOSE_")
    }
    assert set(rows) == {str(c) for c in constants} | {"1000", "4409"}
    assert "declined" in rows[str(signaling.CLOSE_FORBIDDEN)]
    assert "not invited" in rows[str(signaling.CLOSE_NOT_FOUND)]  # the server sends 4404
    assert "not invited" not in rows[str(signaling.CLOSE_FORBIDDEN)]
