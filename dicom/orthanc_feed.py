"""The alternative ingest path: Orthanc's own DICOM port, fed from the network registry.

`sync_modalities` writes every registered AE into Orthanc's `/modalities` (Orthanc runs
with `DicomAlwaysAllowStore: false`, so unregistered calling AEs are refused by Orthanc);
`ChangeFeed` follows Orthanc's `/changes` and indexes each instance received over DICOM
under the institution of its calling AE (`RemoteAET`). Orthanc acknowledges a C-STORE only
after it has stored the instance, so there is no spool on this path.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dicom import service
from dicom.archive import OrthancArchive
from dicom.ingest import Rejected, refuse_if_foreign, study_owner
from telemed.core import clock
from telemed.network import service as network_service
from telemed.network.models import DicomAE

log = logging.getLogger("telemed.dicom.feed")


def sync_modalities(*, engine: Engine, archive: OrthancArchive) -> int:
    """Make Orthanc's modality list equal to the registry's AEs; returns how many."""
    with Session(engine) as session:
        aes = list(session.exec(select(DicomAE)))
    client = archive.client
    wanted = {ae.ae_title: ae for ae in aes}
    for title, ae in wanted.items():
        r = client.put(
            f"{archive.url}/modalities/{title}",
            json={
                "AET": title,
                "Host": ae.host or "127.0.0.1",
                "Port": ae.port,
                "AllowStore": True,
                "AllowEcho": True,
                "AllowFind": False,
                "AllowMove": False,
            },
        )
        r.raise_for_status()
    for name in client.get(f"{archive.url}/modalities").json():
        if name not in wanted:
            client.delete(f"{archive.url}/modalities/{name}")
    return len(wanted)


class ChangeFeed:
    """Follow Orthanc's change log and index instances that arrived over DICOM."""

    def __init__(
        self,
        *,
        engine: Engine,
        archive: OrthancArchive,
        state_file: Path | None = None,
        poll_interval: float = 0.2,
        batch_wait: float = 0.25,
        on_indexed: Callable[[], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], dict[str, Any]] = {}
        self.engine = engine
        self.archive = archive
        self.state_file = state_file
        self.poll_interval = poll_interval
        # After a page with new instances, wait this long before the next poll: while a
        # modality is still sending, the feed then indexes larger pages less often and
        # leaves the CPU to Orthanc (visible at most about this much later).
        self.batch_wait = batch_wait
        # Called after a page indexed new instances (e.g. `orthanc_view.write_view`, the
        # view the filter plugin checks owners against).
        self.on_indexed = on_indexed
        self._last_new = 0
        self.seq = int(state_file.read_text()) if state_file and state_file.exists() else 0
        self.indexed = 0
        self.refused = 0  # instances of another institution's study, removed from Orthanc
        # Orthanc ids of refused instances whose DELETE failed: tried again on every poll.
        self._to_delete: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ChangeFeed:
        self._thread = threading.Thread(target=self._run, name="orthanc-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll_once():
                    self._stop.wait(self.batch_wait if self._last_new else self.poll_interval)
            except Exception:  # Orthanc down or restarting: try again later
                log.exception("change feed poll failed")
                self._stop.wait(2.0)

    def poll_once(self) -> bool:
        """Process one page of changes; True when more may be waiting."""
        if self._to_delete:
            self._delete_refused(self._to_delete)
        c = self.archive.client
        page = c.get(f"{self.archive.url}/changes", params={"since": self.seq, "limit": 200})
        page.raise_for_status()
        body = page.json()
        changes = body.get("Changes", [])
        new = [c["ID"] for c in changes if c.get("ChangeType") == "NewInstance"]
        self._last_new = len(new)
        if new:
            # A whole page in one REST call and one transaction: the feed must not take
            # CPU from Orthanc while it is still receiving. The position only moves once
            # the page is indexed.
            self._index_page(new)
        if changes:
            self.seq = int(changes[-1]["Seq"])
        if self.state_file is not None:  # atomically: a reader never sees it half written
            tmp = self.state_file.with_name(self.state_file.name + ".tmp")
            tmp.write_text(str(self.seq))
            os.replace(tmp, self.state_file)
        return not body.get("Done", True)

    def _describe(self, ids: list[str]) -> list[dict[str, Any]]:
        """Main tags, metadata and parent of each instance (`/tools/bulk-content`, 1.9.5+)."""
        c, url = self.archive.client, self.archive.url
        r = c.post(
            f"{url}/tools/bulk-content",
            json={"Resources": ids, "Level": "Instance", "Metadata": True},
        )
        if r.status_code in (404, 405):  # older Orthanc: two reads per instance
            described = []
            for orthanc_id in ids:
                instance = c.get(f"{url}/instances/{orthanc_id}").json()
                instance["Metadata"] = c.get(f"{url}/instances/{orthanc_id}/metadata?expand").json()
                described.append(instance)
            return described
        r.raise_for_status()
        return list(r.json())

    def _parent(self, kind: str, orthanc_id: str) -> dict[str, Any]:
        """Series/study resources, cached: their main tags are read once per series."""
        key = (kind, orthanc_id)
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = self.archive.client.get(f"{self.archive.url}/{kind}/{orthanc_id}").json()
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = hit
        return hit

    def _index_page(self, ids: list[str]) -> None:
        items: list[tuple[service.InstanceInfo, str, str]] = []
        for instance in self._describe(ids):
            meta: dict[str, Any] = instance.get("Metadata", {})
            if meta.get("Origin") != "DicomProtocol":
                continue  # REST uploads come from our own forwarder/STOW, already indexed
            series = self._parent("series", instance["ParentSeries"])
            study = self._parent("studies", series["ParentStudy"])
            tags = {
                **study.get("PatientMainDicomTags", {}),
                **study.get("MainDicomTags", {}),
                **series.get("MainDicomTags", {}),
                **instance.get("MainDicomTags", {}),
            }
            info = service.InstanceInfo(
                study_uid=tags.get("StudyInstanceUID", ""),
                series_uid=tags.get("SeriesInstanceUID", ""),
                sop_uid=tags.get("SOPInstanceUID", ""),
                sop_class_uid=meta.get("SopClassUid", ""),
                transfer_syntax_uid=meta.get("TransferSyntax", ""),
                size_bytes=int(instance.get("FileSize", 0) or 0),
                modality=tags.get("Modality", ""),
                patient_name=tags.get("PatientName", ""),
                dicom_patient_id=tags.get("PatientID", ""),
                patient_birth_date=tags.get("PatientBirthDate", ""),
                patient_sex=tags.get("PatientSex", ""),
                study_date=tags.get("StudyDate", ""),
                description=tags.get("StudyDescription", ""),
                accession_number=tags.get("AccessionNumber", ""),
                series_number=_int(tags.get("SeriesNumber")),
                instance_number=_int(tags.get("InstanceNumber")),
            )
            items.append((info, meta.get("RemoteAET", ""), instance.get("ID", "")))
        if not items:
            return
        with Session(self.engine) as session:
            institutions: dict[str, uuid.UUID | None] = {}
            for calling in {aet for _, aet, _ in items}:
                ae = network_service.find_ae(session=session, ae_title=calling) if calling else None
                institutions[calling] = ae.institution_id if ae is not None else None
            accepted, foreign = self._owned(session, items, institutions)
            if accepted:
                service.index_instances(
                    session=session,
                    items=[
                        service.Received(info, institutions[aet], aet or None)
                        for info, aet, _ in accepted
                    ],
                    source="cstore",
                    now=clock.now(),
                )
            session.commit()
        for info, aet, _ in foreign:
            log.warning(
                "removing instance %s from %s: study %s belongs to another institution",
                info.sop_uid,
                aet,
                info.study_uid,
            )
        with self._lock:
            self.indexed += len(accepted)
        if accepted and self.on_indexed is not None:
            self.on_indexed()
        # Orthanc acknowledged them before we could judge: take them out of the owner's study.
        self._delete_refused([orthanc_id for _, _, orthanc_id in foreign])

    def _delete_refused(self, orthanc_ids: list[str]) -> None:
        """Delete refused instances from Orthanc; keep those Orthanc did not delete for the
        next poll (a refused instance never stays in the owner's study unnoticed)."""
        failed: list[str] = []
        gone = 0
        for orthanc_id in orthanc_ids:
            try:
                r = self.archive.client.delete(f"{self.archive.url}/instances/{orthanc_id}")
                ok = r.status_code in (200, 404)  # 404: already gone
            except Exception:  # Orthanc unreachable: try again on the next poll
                ok = False
            if ok:
                gone += 1
            else:
                log.error("could not delete refused instance %s from Orthanc; retrying", orthanc_id)
                failed.append(orthanc_id)
        with self._lock:
            self.refused += gone
            self._to_delete = [i for i in self._to_delete if i not in orthanc_ids] + failed

    @staticmethod
    def _owned(
        session: Session,
        items: list[tuple[service.InstanceInfo, str, str]],
        institutions: dict[str, uuid.UUID | None],
    ) -> tuple[
        list[tuple[service.InstanceInfo, str, str]], list[tuple[service.InstanceInfo, str, str]]
    ]:
        """Split a page by the one-owner rule (`dicom.ingest.refuse_if_foreign`)."""
        owners: dict[str, tuple[bool, uuid.UUID | None]] = {}
        accepted, foreign = [], []
        for item in items:
            info, aet, _ = item
            sender = institutions[aet]
            if info.study_uid not in owners:
                owners[info.study_uid] = study_owner(session, info.study_uid)
            exists, owner = owners[info.study_uid]
            if not exists:  # the first sender in this page owns a new study
                owners[info.study_uid] = (True, sender)
                exists, owner = True, sender
            try:
                refuse_if_foreign(
                    study_uid=info.study_uid, exists=exists, owner=owner, institution_id=sender
                )
                accepted.append(item)
            except Rejected:
                foreign.append(item)
        return accepted, foreign


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
