"""Periodic jobs of scheduling, one command each (run from cron or a systemd timer):

python -m scheduling.jobs horizon     # materialize slots up to the horizon; safe to re-run
python -m scheduling.jobs reminders   # day-before reminders (each booking once)
python -m scheduling.jobs expire      # release expired holds
"""

from __future__ import annotations

import sys

from sqlmodel import Session

from scheduling import service
from scheduling.horizon import expire_holds, materialize
from telemed.core import clock
from telemed.core.db import get_engine
from telemed.core.settings import get_settings


def run(job: str) -> str:
    """Run one job in its own transaction; return a one-line summary."""
    now = clock.now()
    with Session(get_engine()) as session:
        if job == "horizon":
            released = expire_holds(session=session, now=now)
            r = materialize(
                session=session, now=now, horizon_days=get_settings().scheduling.horizon_days
            )
            out = (
                f"rules {r.rules}: created {r.created}, updated {r.updated}, withdrawn "
                f"{r.withdrawn}, deleted {r.deleted}, flagged bookings {r.flagged_bookings}; "
                f"expired holds {released}"
            )
        elif job == "reminders":
            out = f"reminders queued: {service.send_reminders(session=session, now=now)}"
        elif job == "expire":
            out = f"expired holds released: {expire_holds(session=session, now=now)}"
        else:
            raise SystemExit(f"unknown job {job!r}; one of: horizon, reminders, expire")
        session.commit()
    return out


if __name__ == "__main__":  # pragma: no cover
    print(run(sys.argv[1] if len(sys.argv) > 1 else "horizon"))
