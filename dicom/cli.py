"""`telemed dicom ...`: push files to a server (STOW-RS), run the storage gateway."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
import typer

app = typer.Typer(help="imaging: push studies, run the DICOM storage gateway")

BATCH_BYTES = 32 * 1024 * 1024
BATCH_FILES = 50


def _is_dicom(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _walk(paths: list[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.is_file())
        elif p.is_file():
            yield p


@dataclass
class PushReport:
    sent: int = 0
    already: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    studies: set[str] = field(default_factory=set)


class TokenRejected(Exception):
    pass


def _present(client: httpx.Client, study_uid: str) -> set[str]:
    """SOP Instance UIDs the server already has for a study (resume)."""
    r = client.get(f"/dicom-web/studies/{study_uid}/instances")
    if r.status_code == 401:
        raise TokenRejected(r.json().get("detail", "unauthorized"))
    if r.status_code != 200:
        return set()
    return {str(i["00080018"]["Value"][0]) for i in r.json() if "00080018" in i}


def _send(client: httpx.Client, batch: list[tuple[Path, bytes]], report: PushReport) -> None:
    boundary = uuid.uuid4().hex
    body = (
        b"".join(
            f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + data + b"\r\n"
            for _, data in batch
        )
        + f"--{boundary}--\r\n".encode()
    )
    r = client.post(
        "/dicom-web/studies",
        content=body,
        headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        },
    )
    if r.status_code == 401:
        raise TokenRejected(r.json().get("detail", "unauthorized"))
    if r.status_code not in (200, 202, 409):
        detail = r.json().get("detail", r.text[:200]) if r.content else r.reason_phrase
        report.failed.extend(f"{p}: HTTP {r.status_code} {detail}" for p, _ in batch)
        return
    body_json = r.json()
    ok = body_json.get("00081199", {}).get("Value", [])
    bad = body_json.get("00081198", {}).get("Value", [])
    report.sent += len(ok)
    for f in bad:
        status = f.get("00081197", {}).get("Value", [0])[0]
        sop = f.get("00081155", {}).get("Value", ["(unreadable)"])[0]
        report.failed.append(f"{sop}: refused with DICOM status {status:#06x}")


@app.command("push")
def push(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (recursed)")],
    server: Annotated[str, typer.Option("--server", help="e.g. https://telemed.example")],
    token: Annotated[str, typer.Option("--token", envvar="TELEMED_TOKEN")],
    consultation: Annotated[
        uuid.UUID | None, typer.Option("--consultation", help="link the studies to it")
    ] = None,
) -> None:
    """Upload DICOM files (STOW-RS) with a progress bar; a re-run sends only what is missing."""
    import pydicom
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    report = PushReport()
    files: list[tuple[Path, str, str]] = []  # path, study uid, sop uid
    for path in _walk(paths):
        if not _is_dicom(path):
            report.skipped.append(f"{path}: not a DICOM Part-10 file")
            continue
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            files.append((path, str(ds.StudyInstanceUID), str(ds.SOPInstanceUID)))
        except Exception as exc:  # unreadable header: report, keep going
            report.skipped.append(f"{path}: unreadable DICOM ({type(exc).__name__})")
    headers = {"Authorization": f"Bearer {token}"}
    exit_code = 0
    with httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=300) as client:
        try:
            present: set[str] = set()
            for study in sorted({s for _, s, _ in files}):
                present |= _present(client, study)
            todo = [(p, s) for p, s, sop in files if sop not in present]
            report.already = len(files) - len(todo)
            report.studies = {s for _, s, _ in files}
            with Progress(
                TextColumn("[bold]pushing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[size]}"),
                console=console,
            ) as progress:
                task = progress.add_task("push", total=len(todo), size="")
                batch: list[tuple[Path, bytes]] = []
                size = 0
                for path, _study in todo:
                    data = path.read_bytes()
                    batch.append((path, data))
                    size += len(data)
                    if size >= BATCH_BYTES or len(batch) >= BATCH_FILES:
                        _send(client, batch, report)
                        progress.advance(task, len(batch))
                        batch, size = [], 0
                if batch:
                    _send(client, batch, report)
                    progress.advance(task, len(batch))
            if consultation is not None:
                for study in sorted(report.studies):
                    r = client.post(
                        f"/api/v1/studies/{study}/links",
                        json={"target_type": "consultation", "target_id": str(consultation)},
                    )
                    if r.status_code == 401:
                        raise TokenRejected(r.json().get("detail", "unauthorized"))
                    if r.status_code >= 400:
                        report.failed.append(f"link {study}: {r.json().get('detail', r.text)}")
        except TokenRejected as exc:
            console.print(
                f"[red]the server refused the token ({exc}) after {report.sent} instances; "
                "nothing accepted is lost: re-run with a fresh token to send the rest[/red]"
            )
            exit_code = 3
        except httpx.TransportError as exc:
            console.print(f"[red]server unreachable: {exc}; re-run to resume[/red]")
            exit_code = 4
    typer.echo(
        f"sent {report.sent}, already on the server {report.already}, "
        f"failed {len(report.failed)}, skipped {len(report.skipped)} non-DICOM"
    )
    for line in report.skipped:
        typer.echo(f"  skipped {line}")
    for line in report.failed:
        typer.echo(f"  failed  {line}")
    if exit_code:
        raise typer.Exit(exit_code)
    if report.failed:
        raise typer.Exit(1)


@app.command("gateway")
def gateway(
    port: Annotated[
        int | None, typer.Option(help="DICOM port (default TELEMED_DICOM_PORT)")
    ] = None,
) -> None:
    """Run the C-STORE gateway and the spool forwarder until interrupted."""
    import signal
    import threading

    from dicom.runtime import start_gateway
    from telemed.core.settings import get_settings

    settings = get_settings()
    running = start_gateway(settings, port=port)
    typer.echo(
        f"gateway {settings.dicom.ae_title} on port {running[1].port}, "
        f"spool {settings.dicom.spool_dir}"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for thing in reversed(running):
            thing.stop()


@app.command("orthanc-feed")
def orthanc_feed(
    state_file: Annotated[
        Path, typer.Option(help="where the last processed change number is kept")
    ] = Path("var/orthanc-changes.seq"),
    view_file: Annotated[
        Path | None,
        typer.Option(
            help="write the filter plugin's view (AEs, study owners) here (default with "
            "TELEMED_DICOM__INGEST=orthanc-filter: TELEMED_DICOM__FILTER_VIEW_FILE)"
        ),
    ] = None,
) -> None:
    """Production ingest on Orthanc's own DICOM port: sync the registry, follow /changes
    (and, with --view-file, keep the view of `dicom/orthanc_plugin/filter.py` fresh)."""
    import signal
    import threading
    import time

    from dicom.archive import OrthancArchive, get_archive
    from dicom.orthanc_feed import ChangeFeed, sync_modalities
    from dicom.orthanc_view import write_view
    from telemed.core.db import get_engine
    from telemed.core.settings import get_settings

    archive = get_archive()
    if not isinstance(archive, OrthancArchive):
        typer.echo("TELEMED_ORTHANC_URL is not set: nothing to follow", err=True)
        raise typer.Exit(2)
    engine = get_engine()
    state_file.parent.mkdir(parents=True, exist_ok=True)
    count = sync_modalities(engine=engine, archive=archive)
    settings = get_settings().dicom
    if view_file is None and settings.ingest == "orthanc-filter":
        view_file = settings.filter_view_file

    view_lock = threading.Lock()
    written = [0.0]

    def refresh_view(force: bool = True) -> None:
        # After an indexed page at most every 5 s: while a modality sends, the plugin's own
        # claim already holds its study; the view only has to catch up for the others.
        if view_file is None:
            return
        with view_lock:
            if force or time.monotonic() - written[0] >= 5.0:
                write_view(engine, view_file, max_study_bytes=settings.max_study_bytes)
                written[0] = time.monotonic()

    refresh_view()
    feed = ChangeFeed(
        engine=engine,
        archive=archive,
        state_file=state_file,
        on_indexed=lambda: refresh_view(force=False),
    ).start()
    typer.echo(f"{count} registered AEs synced to Orthanc; following its changes")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(60):
            sync_modalities(engine=engine, archive=archive)  # pick up newly registered AEs
            refresh_view()
    except KeyboardInterrupt:
        pass
    finally:
        feed.stop()
