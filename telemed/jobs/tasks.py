"""Every periodic task of the system, by name, as plain functions of a `Context`.

The job runner (telemed.jobs.runner, procrastinate) runs each on its schedule; `telemed
jobs` runs them all once. Each task is idempotent: it does its work in transactions that
commit only complete units (a crash rolls the unit back and the retry redoes it), and
the rules it calls claim rows with SKIP LOCKED or conditional updates, so two workers or
a retry never do one thing twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from dicom import jobs as dicom_jobs
from referrals import service as referrals_service
from scheduling import service as scheduling_service
from scheduling.horizon import expire_holds, materialize
from telemed.consultations import jobs as consultation_jobs
from telemed.core import clock, notifications
from telemed.core.settings import Settings
from telemed.core.sms import SmsGateway, build_gateway
from telemed.jobs import sms_params
from telemed.payments import service as payments_service
from telemed.video import retention
from telemed.video import service as video_service

__all__ = ["PERIODIC", "Context", "PeriodicTask", "run_all", "run_task"]


@dataclass
class Context:
    """What a task needs: the database, the settings, the clock and the SMS gateway."""

    bind: Engine | Connection
    settings: Settings
    now: Callable[[], datetime] = clock.now
    sms: SmsGateway | None = None
    # Test hook: called between units of work (a raise here is a crash mid-task).
    checkpoint: Callable[[str], None] = field(default=lambda _where: None)

    def session(self) -> Session:
        return Session(self.bind, expire_on_commit=False, join_transaction_mode="create_savepoint")

    def gateway(self) -> SmsGateway:
        if self.sms is None:
            self.sms = build_gateway(self.settings)
        return self.sms


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    cron: str  # UTC; a sixth field is seconds
    run: Callable[[Context], dict[str, Any]]
    doc: str


def _in_one_transaction(work: Callable[[Session, datetime, Settings], dict[str, Any]]):  # type: ignore[no-untyped-def]
    def run(ctx: Context) -> dict[str, Any]:
        with ctx.session() as session:
            out = work(session, ctx.now(), ctx.settings)
            ctx.checkpoint("before commit")
            session.commit()
        return out

    return run


def _sla(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    r = consultation_jobs.sweep(session=session, now=now, settings=settings)
    return {
        "accept_breaches": len(r.accept_breaches),
        "report_breaches": len(r.report_breaches),
        "expired": len(r.expired),
    }


def _contact_by(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    return {"escalated": referrals_service.escalate_breaches(session=session, now=now)}


def _contracts(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    return dict(referrals_service.run_contract_jobs(session=session, now=now, settings=settings))


def _filings(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    return referrals_service.send_due_filings(session=session, now=now, settings=settings)


def _filing_expiry(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    return {"expired": referrals_service.expire_filings(session=session, now=now)}


def _holds(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    # Expired holds, lapsed waitlist offers included; freed places go to the next in line.
    return {"released": expire_holds(session=session, now=now)}


def _horizon(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    r = materialize(session=session, now=now, horizon_days=settings.scheduling.horizon_days)
    return {"created": r.created, "updated": r.updated, "withdrawn": r.withdrawn}


def _reminders(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    return {"queued": scheduling_service.send_reminders(session=session, now=now)}


def _recordings(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    purged = retention.purge_expired_recordings(session=session, now=now)
    return {"purged": len(purged)}


def _chat(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    days = settings.video.chat_retention_days
    return {"purged": retention.purge_expired_chat(session=session, now=now, days=days)}


def _stale_recordings(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    swept = video_service.sweep_stale_recordings(session=session, now=now, settings=settings.video)
    return {"swept": len(swept)}


def _payments(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    return payments_service.sweep(session=session, now=now)


def _reconcile(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    # Yesterday in Asia/Shanghai: the providers' bill files of a day appear the next morning.
    day = now.astimezone(clock.SHANGHAI).date() - timedelta(days=1)
    runs = payments_service.stored_runs(
        session=session, day=day, now=now, provider_names=list(settings.payments.providers)
    )
    return {"day": day.isoformat(), "mismatches": sum(len(r.mismatches) for r in runs)}


def _imaging(ctx: Context) -> dict[str, Any]:
    engine = ctx.bind if isinstance(ctx.bind, Engine) else ctx.bind.engine
    return {"rerun": dicom_jobs.recover(engine=engine, settings=ctx.settings, now=ctx.now())}


def _dispatch(ctx: Context) -> dict[str, Any]:
    """Deliver due outbox messages, one transaction each (a crash loses no delivered row's
    state and redoes only the undelivered)."""
    s, counts = ctx.settings.sms, {"sent": 0, "skipped": 0, "retry": 0, "dead": 0}
    now = ctx.now()
    with ctx.session() as session:
        due = notifications.due_ids(session=session, now=now)
    for nid in due:
        with ctx.session() as session:
            status = notifications.deliver_one(
                session=session,
                notification_id=nid,
                sms=ctx.gateway(),
                phone_of=sms_params.consented_phone,
                params_of=functools.partial(sms_params.params_for, sms=s),
                language_of=functools.partial(sms_params.language_for, sms=s),
                now=now,
                max_attempts=s.max_attempts,
                backoff_seconds=s.backoff_seconds,
                max_backoff_seconds=s.max_backoff_seconds,
            )
            session.commit()
        if status is not None:
            counts["retry" if status == notifications.PENDING else status] += 1
        ctx.checkpoint(f"delivered {nid}")
    return counts


PERIODIC: tuple[PeriodicTask, ...] = (
    PeriodicTask(
        "consultations.sla_sweep",
        "* * * * *",
        _in_one_transaction(_sla),
        "service-level breaches of consultations: escalate, expire, refund",
    ),
    PeriodicTask(
        "referrals.contact_by",
        "*/5 * * * *",
        _in_one_transaction(_contact_by),
        "escalate referrals past their contact-by date (again daily while breached)",
    ),
    PeriodicTask(
        "referrals.contracts",
        "*/15 * * * *",
        _in_one_transaction(_contracts),
        "family-doctor contracts: activation, expiry, renewal reminders",
    ),
    PeriodicTask(
        "referrals.filings",
        "* * * * * */15",
        _in_one_transaction(_filings),
        "send cross-region filings to the insurance agency; a failed send waits its backoff",
    ),
    PeriodicTask(
        "referrals.filing_expiry",
        "17 * * * *",
        _in_one_transaction(_filing_expiry),
        "accepted cross-region filings past their last valid day become expired",
    ),
    PeriodicTask(
        "scheduling.holds",
        "* * * * *",
        _in_one_transaction(_holds),
        "release expired holds and lapsed waitlist offers; offer the place to the next",
    ),
    PeriodicTask(
        "scheduling.horizon",
        "7 * * * *",
        _in_one_transaction(_horizon),
        "materialize slots up to the rolling horizon",
    ),
    PeriodicTask(
        "scheduling.reminders",
        "*/15 * * * *",
        _in_one_transaction(_reminders),
        "day-before booking reminders (each booking once)",
    ),
    PeriodicTask(
        "payments.sweep",
        "* * * * *",
        _in_one_transaction(_payments),
        "payment orders: query those left paying, close expired ones, retry failed refunds",
    ),
    PeriodicTask(
        "payments.reconcile",
        "30 2 * * *",
        _in_one_transaction(_reconcile),
        "reconcile yesterday's paid and refunded orders with each provider's bill file",
    ),
    PeriodicTask(
        "dicom.recover_jobs",
        "*/5 * * * *",
        _imaging,
        "re-run imaging jobs (send to PACS, priors, de-identification) a stopped process left",
    ),
    PeriodicTask(
        "notifications.dispatch",
        "* * * * * */15",
        _dispatch,
        "deliver the outbox (SMS) with retries; dead-letter after max attempts",
    ),
    PeriodicTask(
        "retention.recordings",
        "23 * * * *",
        _in_one_transaction(_recordings),
        "delete recordings past their retention (file and row), except under legal hold",
    ),
    PeriodicTask(
        "retention.chat",
        "41 3 * * *",
        _in_one_transaction(_chat),
        "delete chat messages of video sessions past their retention",
    ),
    PeriodicTask(
        "video.sweep_stale_recordings",
        "*/5 * * * *",
        _in_one_transaction(_stale_recordings),
        "end recordings left `recording` by a process that died",
    ),
)

BY_NAME = {t.name: t for t in PERIODIC}


def run_task(name: str, ctx: Context) -> dict[str, Any]:
    """Run one periodic task now."""
    return BY_NAME[name].run(ctx)


def run_all(ctx: Context) -> dict[str, dict[str, Any]]:
    """Every periodic task once, in order (`telemed jobs`)."""
    return {t.name: t.run(ctx) for t in PERIODIC}
