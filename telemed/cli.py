"""The `telemed` command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from dicom import cli as dicom_cli
from telemed.reference import cli as reference_cli
from telemed.wiring import wire

app = typer.Typer(help="telemed: remote consultation and referral system", no_args_is_help=True)


@app.callback()
def start() -> None:
    # Every command (the gateway, the worker, seed, ...) runs without the app: it registers
    # the same cross-domain hooks as `create_app()` before it starts.
    wire()


db_app = typer.Typer(help="database")
users_app = typer.Typer(help="users")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(dicom_cli.app, name="dicom")
app.add_typer(reference_cli.app, name="reference")


def alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    from telemed.core.settings import get_settings

    here = Path(__file__).resolve().parent
    cfg = Config(str(here / "alembic.ini"))
    cfg.set_main_option("script_location", str(here / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return cfg


def upgrade_database(url: str | None = None) -> None:
    """Apply every migration (all branches)."""
    from alembic import command

    command.upgrade(alembic_config(url), "heads")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations to the configured database."""
    upgrade_database()
    typer.echo("database is up to date")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message")],
    rev_id: Annotated[str, typer.Option("--rev-id", help="e.g. 0101")],
    branch: Annotated[str | None, typer.Option("--branch", help="new branch label")] = None,
    head: Annotated[
        str | None, typer.Option("--head", help="build on this, e.g. scheduling@head")
    ] = None,
) -> None:
    """Autogenerate a migration against a scratch SQLite built from the current heads.

    A new domain starts its own branch off the kernel: `--branch scheduling`;
    later migrations of that domain build on it: `--head scheduling@head`.
    """
    import tempfile

    from alembic import command

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        upgrade_database(url)
        command.revision(
            alembic_config(url),
            message=message,
            autogenerate=True,
            rev_id=rev_id,
            head=head or ("0002" if branch else "head"),
            branch_label=branch,
            splice=bool(branch),  # a new domain branches off the kernel, which is no head
        )


@app.command()
def seed(
    demo: Annotated[
        bool, typer.Option("--demo", help="load the demo network and accounts")
    ] = False,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="only when no users exist")] = False,
    no_activity: Annotated[
        bool,
        typer.Option(
            "--no-activity",
            help="with --demo: skip the 30 days of demo consultations and referrals",
        ),
    ] = False,
) -> None:
    """Load data. `--demo` needs TELEMED_ENV=development; it also replays about 30 days of
    consultations and referrals across the network (`telemed.demo_activity`) unless
    `--no-activity`."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from telemed.core.db import get_engine
    from telemed.core.settings import get_settings
    from telemed.identity.models import User
    from telemed.network.seed import load_reference
    from telemed.seed import seed_demo

    settings = get_settings()
    with Session(get_engine()) as session:
        from telemed.reference.seed import seed_reference

        seed_reference(session, settings)  # reference data: always, also into a used database
        session.commit()
        if if_empty and session.execute(select(func.count()).select_from(User)).scalar_one():
            typer.echo("database has data; seed skipped")
            return
        if demo:
            if settings.env != "development":
                typer.echo("refusing demo accounts outside TELEMED_ENV=development", err=True)
                raise typer.Exit(2)
            result = seed_demo(session, settings)
            if not no_activity:
                from telemed.demo_activity import seed_activity

                session.commit()
                result = {**result, **seed_activity(session, settings)}
        else:
            load_reference(session)
            result = {}
        session.commit()
    typer.echo(f"seeded {result}")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
    workers: Annotated[
        int, typer.Option(help="uvicorn workers; 0: one per core (SQLite: 1)", min=0)
    ] = 0,
) -> None:
    """Serve the app with uvicorn (by default one worker per core this process may use)."""
    import os

    import uvicorn

    from telemed.core.settings import get_settings

    if workers == 0:
        workers = 1 if get_settings().is_sqlite else len(os.sched_getaffinity(0))

    uvicorn.run(
        "telemed.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@app.command()
def demo(
    server: Annotated[str, typer.Option(help="base URL of a running telemed")] = (
        "http://127.0.0.1:8000"
    ),
    video: Annotated[
        bool, typer.Option(help="also hold a consented, recorded video session (aiortc)")
    ] = True,
) -> None:
    """Run the main story against a running server (exit 1 when a step fails)."""
    from telemed.consultations.demo import DemoFailed, run
    from telemed.video.demo import VideoDemoFailed
    from telemed.video.demo import run as run_video

    try:
        run(server, say=typer.echo)
        if video:
            run_video(server, say=typer.echo)
    except (DemoFailed, VideoDemoFailed) as exc:
        typer.echo(f"demo FAILED: {exc}", err=True)
        raise typer.Exit(1) from exc


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option()],
    full_name: Annotated[str, typer.Option("--name")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, envvar="TELEMED_NEW_PASSWORD")
    ],
    institution_code: Annotated[str | None, typer.Option("--institution")] = None,
) -> None:
    """Create a user (e.g. the first admin)."""
    from sqlmodel import Session, select

    from telemed.core import clock
    from telemed.core.db import get_engine
    from telemed.core.errors import DomainError
    from telemed.core.settings import get_settings
    from telemed.identity.models import Role
    from telemed.identity.schemas import UserCreate
    from telemed.identity.service import create_user
    from telemed.network.models import Institution

    with Session(get_engine()) as session:
        inst_id = None
        if institution_code:
            inst = session.execute(
                select(Institution).where(Institution.code == institution_code)
            ).scalar_one_or_none()
            if inst is None:
                typer.echo(f"unknown institution {institution_code}", err=True)
                raise typer.Exit(1)
            inst_id = inst.id
        data = UserCreate(
            username=username,
            password=password,
            role=Role(role),
            full_name=full_name,
            institution_id=inst_id,
        )
        try:
            user = create_user(session=session, data=data, now=clock.now(), settings=get_settings())
        except DomainError as exc:
            typer.echo(f"{exc.code}: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
        session.commit()
        typer.echo(f"created {user.username} ({user.role}) {user.id}")


@app.command("referral-jobs")
def referral_jobs() -> None:
    """Contract expiry, activation and reminders; escalation of referrals past their
    contact date (run from cron every few minutes)."""
    from sqlmodel import Session

    from referrals import service as referrals_service
    from telemed.core import clock
    from telemed.core.db import get_engine
    from telemed.core.settings import get_settings

    with Session(get_engine()) as session:
        now = clock.now()
        out = referrals_service.run_contract_jobs(session=session, now=now, settings=get_settings())
        out["escalated"] = referrals_service.escalate_breaches(session=session, now=now)
        session.commit()
    typer.echo(" ".join(f"{k}={v}" for k, v in out.items()))


def _job_context():  # type: ignore[no-untyped-def]
    from telemed.core.db import get_engine
    from telemed.core.settings import get_settings
    from telemed.jobs.tasks import Context

    return Context(bind=get_engine(), settings=get_settings())


@app.command("jobs")
def run_jobs() -> None:
    """Every periodic task once, now (the same tasks `telemed worker` runs on schedule):
    service levels, referral escalations, holds and waitlist offers, slot horizon,
    reminders, imaging jobs, SMS dispatch, retention. Safe to re-run."""
    from telemed.jobs.tasks import run_all

    for name, out in run_all(_job_context()).items():
        typer.echo(f"{name}: " + " ".join(f"{k}={v}" for k, v in out.items()))


@app.command("worker")
def worker(
    concurrency: Annotated[int | None, typer.Option(help="jobs run at once")] = None,
) -> None:
    """Run the job runner (procrastinate worker): every periodic task on its schedule,
    with retries. Run one or more in production; they share the PostgreSQL queue."""
    import asyncio

    from telemed.core.settings import get_settings
    from telemed.jobs.runner import build_app, worker_options

    settings = get_settings()
    if settings.is_sqlite:
        raise typer.BadParameter(
            "the queue needs PostgreSQL; on SQLite the API process runs the jobs itself"
        )
    ctx = _job_context()
    ctx.gateway()  # refuse a missing SMS provider at start, not at the first message
    overrides = {"concurrency": concurrency} if concurrency else {}
    procrastinate_app = build_app(settings)

    async def run() -> None:
        async with procrastinate_app.open_async():
            await procrastinate_app.run_worker_async(**worker_options(ctx, **overrides))

    asyncio.run(run())


def main() -> None:  # pragma: no cover
    os.environ.setdefault("TELEMED_ENV", "production")
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
