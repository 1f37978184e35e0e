"""The façade of remote training: what the routes and other domains call."""

from __future__ import annotations

from telemed.training.attendance import attended_share, credit_due, duration_seconds, progress
from telemed.training.attendance import record as record_attendance
from telemed.training.courses import can_manage, catalogue, create, load, public, transition
from telemed.training.enrolment import enrol, is_enrolled, may_enrol, mine, own, unenrol
from telemed.training.live import (
    lecture_participants,
    lecture_presence,
    lecture_recordings,
    lecture_viewer,
    may_watch,
    open_room,
)
from telemed.training.report import report

__all__ = [
    "attended_share",
    "can_manage",
    "catalogue",
    "create",
    "credit_due",
    "duration_seconds",
    "enrol",
    "is_enrolled",
    "load",
    "lecture_participants",
    "lecture_presence",
    "lecture_recordings",
    "lecture_viewer",
    "may_enrol",
    "may_watch",
    "mine",
    "open_room",
    "own",
    "progress",
    "public",
    "record_attendance",
    "report",
    "transition",
    "unenrol",
]
