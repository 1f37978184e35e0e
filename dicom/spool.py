"""The durable spool and the forwarder that empties it into the archive.

Every instance received (`dicom.ingest.receive`: the gateway's C-STORE, STOW-RS) is
written here and fsync'ed *before* it is acknowledged: one line of JSON (who sent it) and
the Part-10 bytes, made visible by an atomic rename to `<name>.dcm`. The forwarder stores
each file in the archive, indexes it and deletes it; while the archive is unavailable it
retries with backoff, so a stopped Orthanc delays but never loses. Refused files move to
`rejected/` with the reason beside them.

STOW-RS answers with the stored result, so it *holds* its file (`<name>.held`, which the
forwarder leaves alone), stores it itself and then deletes it, or releases it to the
forwarder when the archive is unavailable. A held file whose request died (the process
stopped) is released after `HOLD_TIMEOUT` seconds.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dicom.archive import Archive, ArchiveError, ArchiveUnavailable
from dicom.ingest import Rejected, ingest, inspect_instance
from dicom.models import SpoolEntry, SpoolState
from telemed.core import clock

log = logging.getLogger("telemed.dicom.spool")

HOLD_TIMEOUT = 600.0  # seconds after which a held file is the forwarder's


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """A directory of received instances waiting for the archive."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = Path(root)
        self.rejected_dir = self.root / "rejected"
        self.root.mkdir(parents=True, exist_ok=True)
        self.rejected_dir.mkdir(exist_ok=True)
        self.durable = durable
        self.arrived = threading.Event()
        self._listeners: list[Callable[[str], None]] = []

    def put(self, data: bytes, meta: dict[str, Any], *, hold: bool = False) -> str:
        """Write one instance durably; return its spool name. Safe from many threads.

        With `hold` the file waits for `release` or `done` (the writer stores it itself)."""
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        tmp = self.root / f".{name}.tmp"
        with open(tmp, "wb") as f:
            f.write(json.dumps(meta).encode() + b"\n")
            f.write(data)
            f.flush()
            if self.durable:
                os.fsync(f.fileno())
        os.replace(tmp, self.root / f"{name}.{'held' if hold else 'dcm'}")
        if self.durable:
            _fsync_dir(self.root)
        if not hold:
            self._arrived(name)
        return name

    def release(self, name: str) -> None:
        """Hand a held file to the forwarder."""
        os.replace(self.root / f"{name}.held", self.root / f"{name}.dcm")
        if self.durable:
            _fsync_dir(self.root)
        self._arrived(name)

    def release_stale(self, older_than: float = HOLD_TIMEOUT) -> None:
        """Release the held files of requests that died before finishing them."""
        cutoff = time.time() - older_than
        for path in self.root.glob("*.held"):
            try:
                if path.stat().st_mtime < cutoff:
                    self.release(path.stem)
            except FileNotFoundError:  # finished meanwhile
                continue

    def _arrived(self, name: str) -> None:
        self.arrived.set()
        for fn in self._listeners:
            fn(name)

    def on_put(self, fn: Callable[[str], None]) -> None:
        self._listeners.append(fn)

    def pending(self) -> list[str]:
        """Names waiting for the archive, oldest first."""
        return sorted(p.stem for p in self.root.glob("*.dcm"))

    def read(self, name: str) -> tuple[dict[str, Any], bytes]:
        raw = (self.root / f"{name}.dcm").read_bytes()
        head, _, data = raw.partition(b"\n")
        return json.loads(head), data

    def done(self, name: str) -> None:
        (self.root / f"{name}.dcm").unlink(missing_ok=True)
        (self.root / f"{name}.held").unlink(missing_ok=True)

    def reject(self, name: str, reason: str) -> None:
        src = self.root / f"{name}.dcm"
        if src.exists():
            os.replace(src, self.rejected_dir / f"{name}.dcm")
        (self.rejected_dir / f"{name}.reason.txt").write_text(reason + "\n")


class Forwarder:
    """Threads that move spooled instances into the archive and the index, with retries."""

    def __init__(
        self,
        *,
        spool: Spool,
        archive: Archive,
        engine: Engine,
        max_study_bytes: int,
        workers: int = 2,
        backoff: tuple[float, float] = (0.2, 10.0),
        scan_interval: float = 2.0,
    ) -> None:
        self.scan_interval = scan_interval
        self.spool = spool
        self.archive = archive
        self.engine = engine
        self.max_study_bytes = max_study_bytes
        self.workers = workers
        self.backoff = backoff
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition()
        self.forwarded = 0
        self.rejected = 0
        self.retries = 0

    def start(self) -> Forwarder:
        self.spool.on_put(self._enqueue)
        self.spool.release_stale()
        for name in self.spool.pending():  # what a previous run left behind
            self._enqueue(name)
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"dicom-forwarder-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        scanner = threading.Thread(target=self._scan, name="dicom-spool-scanner", daemon=True)
        scanner.start()
        self._threads.append(scanner)
        return self

    def _scan(self) -> None:
        """Pick up files spooled by other processes (STOW-RS in API workers)."""
        while not self._stop.wait(self.scan_interval):
            self.spool.release_stale()
            for name in self.spool.pending():
                self._enqueue(name)

    def stop(self) -> None:
        self._stop.set()
        for _ in range(self.workers):
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=30)
        self._threads.clear()

    def _enqueue(self, name: str) -> None:
        with self._lock:
            if name in self._inflight:
                return
            self._inflight.add(name)
        self._queue.put(name)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until nothing is spooled or in flight (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while True:
                with self._lock:
                    if not self._inflight and not self.spool.pending():
                        return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.5))

    def _work(self) -> None:
        while not self._stop.is_set():
            name = self._queue.get()
            if name is None:
                return
            delay = self.backoff[0]
            while not self._stop.is_set():
                try:
                    self._forward(name)
                    break
                except ArchiveUnavailable as exc:
                    self.retries += 1
                    self._note(name, error=str(exc))
                    log.warning("archive unavailable, retrying %s in %.1fs: %s", name, delay, exc)
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.backoff[1])
                except Exception as exc:  # never lose the file: keep it and retry later
                    self.retries += 1
                    log.exception("forwarding %s failed; will retry", name)
                    self._note(name, error=f"{type(exc).__name__}: {exc}")
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.backoff[1])
            with self._lock:
                self._inflight.discard(name)
            with self._idle:
                self._idle.notify_all()

    def _note(self, name: str, *, error: str) -> None:
        try:
            with Session(self.engine) as session:
                entry = session.execute(
                    select(SpoolEntry).where(SpoolEntry.spool_name == name)
                ).scalar_one_or_none()
                if entry is None:
                    entry = SpoolEntry(spool_name=name, received_at=clock.now())
                    session.add(entry)
                entry.attempts += 1
                entry.last_error = error[:500]
                session.commit()
        except Exception:  # bookkeeping must not stop forwarding
            log.exception("could not record spool state of %s", name)

    def _forward(self, name: str) -> None:
        path = self.spool.root / f"{name}.dcm"
        if not path.exists():
            return
        meta, data = self.spool.read(name)
        inst_id = meta.get("institution_id")
        patient = meta.get("patient_id")
        now = clock.now()
        with Session(self.engine) as session:
            try:
                inspected = inspect_instance(data)
                stored = ingest(
                    session=session,
                    archive=self.archive,
                    data=data,
                    inspected=inspected,
                    institution_id=uuid.UUID(inst_id) if inst_id else None,
                    source_ae=meta.get("source_ae"),
                    source=meta.get("source", "cstore"),
                    now=now,
                    max_study_bytes=self.max_study_bytes,
                    patient_id=uuid.UUID(patient) if patient else None,
                )
                state, error, sop = SpoolState.FORWARDED, None, stored.sop_uid
            except Rejected as exc:
                session.rollback()
                state, error, sop = SpoolState.REJECTED, f"{exc.code}: {exc.reason}", ""
            except ArchiveError as exc:
                if isinstance(exc, ArchiveUnavailable):
                    raise
                session.rollback()
                state, error, sop = SpoolState.REJECTED, f"archive refused: {exc}", ""
            # Successes leave no row when nothing went wrong (the hot path stays lean);
            # retried and refused instances keep their history.
            entry = session.execute(
                select(SpoolEntry).where(SpoolEntry.spool_name == name)
            ).scalar_one_or_none()
            if entry is None and state != SpoolState.FORWARDED:
                entry = SpoolEntry(spool_name=name, received_at=now)
                session.add(entry)
            if entry is not None:
                entry.state = state
                entry.sop_uid = sop
                entry.source_ae = meta.get("source_ae")
                entry.attempts += 1
                entry.last_error = error
                entry.forwarded_at = now if state == SpoolState.FORWARDED else None
                if inst_id:
                    entry.source_institution_id = uuid.UUID(inst_id)
            session.commit()
        if state == SpoolState.FORWARDED:
            self.spool.done(name)
            self.forwarded += 1
        else:
            self.spool.reject(name, error or "rejected")
            self.rejected += 1
            log.warning("spooled instance %s rejected: %s", name, error)
