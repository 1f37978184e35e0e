"""The replay: stories (generators yielding the time of their next step) run in time
order, with the service-level sweep at the moments the real one would have run."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlmodel import Session

from telemed.consultations import jobs as consultation_jobs
from telemed.core.clock import SHANGHAI
from telemed.core.settings import Settings
from telemed.demo_activity.patients import patient_spec
from telemed.identity import service as identity_service
from telemed.identity.models import Patient
from telemed.identity.schemas import PatientCreate
from telemed.network.models import Institution

RANDOM_SEED = 20261127
DAYS = 30

Story = Iterator[datetime]


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    story: Story | None = field(compare=False, default=None)  # None: a service-level sweep


@dataclass
class Sim:
    session: Session
    settings: Settings
    now: datetime
    rng: random.Random
    queue: list[Step] = field(default_factory=list)
    seq: int = 0
    sweeps: set[datetime] = field(default_factory=set)
    patients: int = 0
    consultations: int = 0
    referrals: int = 0
    bookings: int = 0
    at: datetime | None = None  # the time of the step being replayed

    def __post_init__(self) -> None:
        self.at = self.now

    def start(self, story: Story) -> None:
        self._push(story)

    def _push(self, story: Story) -> None:
        try:
            at = next(story)
        except StopIteration:
            return
        self.seq += 1
        heapq.heappush(self.queue, Step(at, self.seq, story))

    def sweep_at(self, at: datetime) -> None:
        """The real sweep runs every minute: it notices a deadline within one."""
        at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if at < self.now and at not in self.sweeps:
            self.sweeps.add(at)
            self.seq += 1
            heapq.heappush(self.queue, Step(at, self.seq, None))

    def sweep_if_missed(self, due: datetime, next_step: datetime) -> None:
        """Sweep after `due` when the story's next step comes later (or never, before now)."""
        if next_step > due:
            self.sweep_at(due)

    def run(self) -> None:
        """Every step before `now`, in time order; later steps never happen."""
        while self.queue and self.queue[0].at < self.now:
            step = heapq.heappop(self.queue)
            self.at = step.at
            if step.story is None:
                consultation_jobs.sweep(session=self.session, now=step.at, settings=self.settings)
            else:
                self._push(step.story)
        self.session.flush()

    def patient(self, county: Institution, at: datetime) -> Patient:
        assert county.county_code is not None
        spec = patient_spec(self.patients, county.county_code)
        self.patients += 1
        return identity_service.register_patient(
            session=self.session,
            data=PatientCreate(
                name=spec.name,
                resident_id=spec.resident_id,
                phone=spec.phone,
                county_code=spec.county_code,
                sms_consent=True,
            ),
            institution_id=county.id,
            now=at,
            settings=self.settings,
        )


def day_time(rng: random.Random, start: datetime, day: int, emergency: bool) -> datetime:
    """A moment of day `day` after `start`: office hours in Shanghai, emergencies any time."""
    d = start.astimezone(SHANGHAI).date() + timedelta(days=day)
    if emergency:
        minute = rng.randrange(24 * 60)
    else:
        minute = rng.randrange(8 * 60, 17 * 60 + 30)
    local = datetime.combine(d, time(minute // 60, minute % 60), SHANGHAI)
    return local.astimezone(start.tzinfo)
