"""The life of an imaging job (send, retrieve, de-identify) as data.

queued -> running -> done | failed
queued|running -> queued    a stopped process left it: claimed to run again (`recover`)
queued|running -> failed    the work raised or reported failures, or it was given up
"""

from __future__ import annotations

from dicom.models import JobStatus
from telemed.core.states import StateMachine

JOB = StateMachine(
    "imaging_job",
    {
        "start": ({JobStatus.QUEUED}, JobStatus.RUNNING),
        "finish": ({JobStatus.RUNNING}, JobStatus.DONE),
        "fail": ({JobStatus.QUEUED, JobStatus.RUNNING}, JobStatus.FAILED),
        "requeue": ({JobStatus.QUEUED, JobStatus.RUNNING}, JobStatus.QUEUED),
    },
)
FINISHED = (JobStatus.DONE, JobStatus.FAILED)


def sources(action: str) -> tuple[str, ...]:
    """The states `action` applies to, for conditional UPDATEs (`recover` claims in SQL)."""
    return tuple(sorted(JOB.transitions[action][0]))


def target(action: str) -> str:
    """The state `action` leads to."""
    return JOB.transitions[action][1]
