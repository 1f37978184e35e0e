"""The forwarder: moves spooled instances into the archive, then indexes them in batches.

Store workers (`workers` threads) each take a spool name, read the file and the header
facts the receiving path wrote beside it (`info` in the meta line, so nothing is parsed
twice; older files or files without it are inspected here), check the study's owner
against an in-memory view (`StudyOwners`) and store the instance in the archive over the
thread's kept-alive connection. Stored instances go to one indexing thread, which takes
everything waiting (up to `batch` instances) and indexes it in one transaction
(`dicom.service.index_instances`: a multi-row insert, one counter update per study, the
worklist match of a new study), checking the one-owner rule against the index inside that
transaction, which decides. Only then are the spool files deleted: a crash anywhere before
leaves the file, which the next run forwards again (store and index are idempotent).

While the archive is unavailable a worker retries with backoff (a stopped Orthanc delays,
never loses); a refused instance (foreign study, archive refusal) moves to `rejected/`
with the reason and keeps a `dicom_spool_entry` row, as does one that needed retries.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dicom import service
from dicom.archive import Archive, ArchiveError, ArchiveUnavailable
from dicom.ingest import (
    Rejected,
    info_from_meta,
    inspect_instance,
    refuse_if_foreign,
    study_owner,
)
from dicom.models import SpoolEntry, SpoolState
from dicom.owners import StudyOwners
from dicom.spool import Spool
from telemed.core import clock

log = logging.getLogger("telemed.dicom.spool")


@dataclass(frozen=True)
class _Stored:
    name: str
    info: service.InstanceInfo
    institution_id: uuid.UUID | None
    source_ae: str | None
    source: str
    patient_id: uuid.UUID | None
    path: str | None


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


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
        batch: int = 200,
        owners: StudyOwners | None = None,
    ) -> None:
        self.scan_interval = scan_interval
        self.spool = spool
        self.archive = archive
        self.engine = engine
        # The size limit is admitted where instances are received (gateway, STOW-RS); the
        # forwarder keeps it for its callers only.
        self.max_study_bytes = max_study_bytes
        self.workers = workers
        self.backoff = backoff
        self.batch = batch
        self.owners = owners or StudyOwners(engine)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stored: queue.Queue[_Stored | None] = queue.Queue()
        self._inflight: set[str] = set()
        self._noted: set[str] = set()  # names with a dicom_spool_entry row (retried)
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
        targets = [(f"dicom-forwarder-{i}", self._work) for i in range(self.workers)]
        targets += [("dicom-indexer", self._index_loop), ("dicom-spool-scanner", self._scan)]
        for thread_name, target in targets:
            t = threading.Thread(target=target, name=thread_name, daemon=True)
            t.start()
            self._threads.append(t)
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
        self._stored.put(None)
        for t in self._threads:
            t.join(timeout=30)
        self._threads.clear()

    def _enqueue(self, name: str) -> None:
        with self._lock:
            if name in self._inflight:
                return
            self._inflight.add(name)
        self._queue.put(name)

    def _finished(self, name: str) -> None:
        with self._lock:
            self._inflight.discard(name)
        with self._idle:
            self._idle.notify_all()

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

    # ---------------------------------------------------------------- storing

    def _work(self) -> None:
        while not self._stop.is_set():
            name = self._queue.get()
            if name is None:
                return
            delay = self.backoff[0]
            while not self._stop.is_set():
                try:
                    stored = self._store(name)
                except ArchiveUnavailable as exc:
                    self._retry_later(name, str(exc), delay)
                    delay = min(delay * 2, self.backoff[1])
                    continue
                except Exception as exc:  # never lose the file: keep it and retry later
                    log.exception("forwarding %s failed; will retry", name)
                    self._retry_later(name, f"{type(exc).__name__}: {exc}", delay)
                    delay = min(delay * 2, self.backoff[1])
                    continue
                if stored is None:
                    self._finished(name)
                else:
                    self._stored.put(stored)  # the indexer finishes it
                break

    def _retry_later(self, name: str, error: str, delay: float) -> None:
        self.retries += 1
        log.warning("forwarding %s: %s; retrying in %.1fs", name, error, delay)
        self._note(name, error=error)
        self._stop.wait(delay)

    def _store(self, name: str) -> _Stored | None:
        """Store one spooled file in the archive; None when it is gone or was refused."""
        if not (self.spool.root / f"{name}.dcm").exists():
            return None
        meta, data = self.spool.read(name)
        institution_id = _uuid(meta.get("institution_id"))
        try:
            info = info_from_meta(meta, size=len(data))
            if info is None:  # not inspected when received (an older spool file)
                info = inspect_instance(data).info
            self.owners.admit(info.study_uid, institution_id)
            self.archive.store(data)
        except Rejected as exc:
            self._reject(name, meta, f"{exc.code}: {exc.reason}")
            return None
        except ArchiveError as exc:
            if isinstance(exc, ArchiveUnavailable):
                raise
            self._reject(name, meta, f"archive refused: {exc}")
            return None
        return _Stored(
            name=name,
            info=info,
            institution_id=institution_id,
            source_ae=meta.get("source_ae"),
            source=meta.get("source", "cstore"),
            patient_id=_uuid(meta.get("patient_id")),
            path=self.archive.file_path(info.study_uid, info.series_uid, info.sop_uid),
        )

    # ---------------------------------------------------------------- indexing

    def _index_loop(self) -> None:
        while True:
            first = self._stored.get()
            if first is None:
                return
            items = [first]
            while len(items) < self.batch:
                try:
                    more = self._stored.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._stored.put(None)  # stop after this batch
                    break
                items.append(more)
            delay = self.backoff[0]
            while True:
                try:
                    self._index(items)
                    break
                except Exception:  # database down: keep the files, try again
                    self.retries += 1
                    log.exception("indexing %d instances failed; will retry", len(items))
                    if self._stop.wait(delay):
                        for item in items:
                            self._finished(item.name)
                        return
                    delay = min(delay * 2, self.backoff[1])

    def _index(self, items: list[_Stored]) -> None:
        now = clock.now()
        with Session(self.engine) as session:
            accepted, foreign = self._split_by_owner(session, items)
            for source in {item.source for item in accepted}:
                service.index_instances(
                    session=session,
                    items=[
                        service.Received(
                            item.info,
                            item.institution_id,
                            item.source_ae,
                            item.path,
                            item.patient_id,
                        )
                        for item in accepted
                        if item.source == source
                    ],
                    source=source,
                    now=now,
                )
            noted = [item.name for item in accepted if item.name in self._noted]
            if noted:
                for entry in session.execute(
                    select(SpoolEntry).where(SpoolEntry.spool_name.in_(noted))  # type: ignore[attr-defined]
                ).scalars():
                    entry.state = SpoolState.FORWARDED
                    entry.attempts += 1
                    entry.last_error = None
                    entry.forwarded_at = now
            session.commit()
        for item in accepted:
            self.owners.confirm(item.info.study_uid, item.institution_id)
            self.spool.done(item.name)
            self._noted.discard(item.name)
            self.forwarded += 1
            self._finished(item.name)
        for item, reason in foreign:
            log.error(
                "instance %s of study %s stored in the archive but refused at indexing: %s",
                item.info.sop_uid,
                item.info.study_uid,
                reason,
            )
            self._reject(item.name, {"source_ae": item.source_ae}, reason, item.institution_id)
            self._finished(item.name)

    @staticmethod
    def _split_by_owner(
        session: Session, items: list[_Stored]
    ) -> tuple[list[_Stored], list[tuple[_Stored, str]]]:
        """The one-owner rule against the index, in the indexing transaction (it decides)."""
        owners: dict[str, tuple[bool, uuid.UUID | None]] = {}
        accepted: list[_Stored] = []
        foreign: list[tuple[_Stored, str]] = []
        for item in items:
            uid = item.info.study_uid
            if uid not in owners:
                exists, owner = study_owner(session, uid)
                owners[uid] = (True, owner if exists else item.institution_id)
            exists, owner = owners[uid]
            try:
                refuse_if_foreign(
                    study_uid=uid, exists=exists, owner=owner, institution_id=item.institution_id
                )
                accepted.append(item)
            except Rejected as exc:
                foreign.append((item, f"{exc.code}: {exc.reason}"))
        return accepted, foreign

    # ---------------------------------------------------------------- bookkeeping

    def _reject(
        self,
        name: str,
        meta: dict[str, Any],
        reason: str,
        institution_id: uuid.UUID | None = None,
    ) -> None:
        self.spool.reject(name, reason)
        self.rejected += 1
        log.warning("spooled instance %s rejected: %s", name, reason)
        self._note(
            name,
            error=reason,
            state=SpoolState.REJECTED,
            source_ae=meta.get("source_ae"),
            institution_id=institution_id or _uuid(meta.get("institution_id")),
        )

    def _note(
        self,
        name: str,
        *,
        error: str,
        state: str | None = None,
        source_ae: str | None = None,
        institution_id: uuid.UUID | None = None,
    ) -> None:
        """Keep the history of a retried or refused file (`dicom_spool_entry`)."""
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
                if state is not None:
                    entry.state = state
                if source_ae is not None:
                    entry.source_ae = source_ae
                if institution_id is not None:
                    entry.source_institution_id = institution_id
                session.commit()
            self._noted.add(name)
        except Exception:  # bookkeeping must not stop forwarding
            log.exception("could not record spool state of %s", name)
