"""Who owns a study, and how large it is, kept in memory for the C-STORE hot path.

The one-owner rule (`dicom.ingest.refuse_if_foreign`: only the institution that sent a
study first may add to it) is checked for every received instance. Asking the index each
time costs a round trip per instance, so `StudyOwners` keeps each study's owner and size:
read from the index the first time a study is seen, then tracked here. A study the index
does not know belongs to the first institution that sends it (a *claim*, held in memory
until the forwarder has indexed it).

Kept fresh without trusting memory for a refusal: an instance the memory would refuse is
checked against the index again first, so a study deleted since (or a claim the index
never confirmed, after `CLAIM_TTL`) is free again. An admission from memory is safe
because the forwarder checks the owner again inside the indexing transaction, where the
index decides.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dicom.ingest import STATUS_OUT_OF_RESOURCES, Rejected, refuse_if_foreign
from dicom.models import Study

CLAIM_TTL = 600.0  # seconds a claim the index has not confirmed stays authoritative
MAX_ENTRIES = 20_000


@dataclass
class _Entry:
    owner: uuid.UUID | None
    size: int
    claimed_at: float | None  # None: read from the index


class StudyOwners:
    """The in-memory view of study owners and sizes (thread-safe)."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.index_reads = 0

    def _read(self, study_uid: str, institution_id: uuid.UUID | None) -> _Entry:
        """The study's entry from the index, or a new claim for `institution_id`."""
        row = None
        if self.engine is not None:
            with Session(self.engine) as session:
                row = session.execute(
                    select(Study.source_institution_id, Study.size_bytes).where(
                        Study.study_uid == study_uid
                    )
                ).first()
            self.index_reads += 1
        if row is None:
            return _Entry(owner=institution_id, size=0, claimed_at=time.monotonic())
        return _Entry(owner=row[0], size=row[1] or 0, claimed_at=None)

    def admit(
        self,
        study_uid: str,
        institution_id: uuid.UUID | None,
        size: int = 0,
        max_bytes: int | None = None,
    ) -> None:
        """Admit `size` more bytes of `study_uid` from `institution_id`, or raise `Rejected`
        (0x0124 `foreign_study`, A700 `study_too_large`)."""
        with self._lock:
            entry = self._entries.get(study_uid)
        if entry is None or entry.owner != institution_id:
            # First sight, or memory would refuse: the index decides. Only a recent claim
            # the index does not hold yet (another institution's study in flight) stands.
            read = self._read(study_uid, institution_id)
            held = (
                entry is not None
                and entry.claimed_at is not None
                and time.monotonic() - entry.claimed_at <= CLAIM_TTL
            )
            entry = entry if read.claimed_at is not None and held and entry else read
        refuse_if_foreign(
            study_uid=study_uid, exists=True, owner=entry.owner, institution_id=institution_id
        )
        with self._lock:
            if max_bytes is not None and entry.size + size > max_bytes:
                raise Rejected(
                    "study_too_large",
                    f"study {study_uid} would exceed the limit of {max_bytes} bytes",
                    status=STATUS_OUT_OF_RESOURCES,
                )
            entry.size += size
            if len(self._entries) >= MAX_ENTRIES and study_uid not in self._entries:
                self._entries.clear()  # forgotten entries are read from the index again
            self._entries[study_uid] = entry

    def confirm(self, study_uid: str, owner: uuid.UUID | None) -> None:
        """The index now holds the study under `owner` (called after indexing)."""
        with self._lock:
            entry = self._entries.get(study_uid)
            if entry is not None:
                entry.owner, entry.claimed_at = owner, None

    def forget(self, study_uid: str) -> None:
        with self._lock:
            self._entries.pop(study_uid, None)
