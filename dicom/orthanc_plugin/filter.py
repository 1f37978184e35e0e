"""Our ingest checks inside Orthanc's own C-STORE SCP (Debian `orthanc-python` 4.0).

Orthanc loads this file as its `PythonScript` (Orthanc's embedded CPython 3.11, standard
library only: nothing of `telemed` is imported here). It registers
`orthanc.RegisterIncomingCStoreInstanceFilter` (Orthanc >= 1.10): for each instance
received over DICOM, before Orthanc stores it, `Filter.check` answers 0 (store) or the
DIMSE status the modality gets back (the instance is then not stored):

- 0x0124 (Refused: not authorized) `unknown_ae` when the calling AE title is not in the
  registry's view (Orthanc itself already refuses the association of AEs missing from its
  `/modalities`, which `dicom.orthanc_feed.sync_modalities` keeps equal to the registry);
- 0x0124 `foreign_study` when the study belongs to another institution (the one-owner
  rule, `dicom.ingest.refuse_if_foreign`);
- 0xA700 (Out of resources) `study_too_large` past the view's `max_study_bytes`.

The view is a JSON file written by our change feed (`dicom.orthanc_view.write_view`):
``{"aes": {AET: institution}, "studies": {study_uid: [institution, bytes]},
"max_study_bytes": n}``. It is re-read when its mtime changes (one `stat` per instance).
A study the view does not hold yet belongs to the first institution that sends it (a
claim, kept here until the view holds the study or `CLAIM_TTL` passes). The change feed
checks the owner again in the indexing transaction, so a claim this process got wrong
(e.g. a study older than the view's window) is still removed from Orthanc there.

Orthanc configuration (see docs/operations.md): ``"Plugins": [".../libOrthancPython.so"],
"PythonScript": ".../dicom/orthanc_plugin/filter.py", "Telemed": {"ViewFile": "..."}``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

ACCEPT = 0x0000
REFUSED_NOT_AUTHORIZED = 0x0124
OUT_OF_RESOURCES = 0xA700
CLAIM_TTL = 600.0
STUDY_INSTANCE_UID = "0020,000d"


class Filter:
    """The decision, kept apart from Orthanc so it can be read (and tested) on its own."""

    def __init__(self, view_file: str, log: Any = None) -> None:
        self.view_file = view_file
        self.log = log or (lambda message: None)
        self._lock = threading.Lock()
        self._mtime: int | None = None
        self.aes: dict[str, str] = {}
        self.studies: dict[str, list[Any]] = {}
        self.max_study_bytes: int | None = None
        # study uid -> [institution, bytes, monotonic time of the claim]
        self.claims: dict[str, list[Any]] = {}
        self.accepted = 0
        self.refused = 0

    def _fresh(self) -> None:
        try:
            mtime = os.stat(self.view_file).st_mtime_ns
        except OSError:
            return  # no view yet: keep the last one (empty: every AE refused)
        if mtime == self._mtime:
            return
        try:
            with open(self.view_file, encoding="utf-8") as f:
                view = json.load(f)
        except (OSError, ValueError):
            return  # half-written files never appear (os.replace), but be safe
        self._mtime = mtime
        self.aes = dict(view.get("aes", {}))
        self.studies = dict(view.get("studies", {}))
        self.max_study_bytes = view.get("max_study_bytes")
        now = time.monotonic()
        for uid in [
            u for u, c in self.claims.items() if u in self.studies or now - c[2] > CLAIM_TTL
        ]:
            del self.claims[uid]

    def check(self, calling_aet: str, study_uid: str, size: int) -> tuple[int, str]:
        """(DIMSE status, reason) for one instance; status 0 stores it."""
        with self._lock:
            self._fresh()
            institution = self.aes.get(calling_aet)
            if institution is None:
                self.refused += 1
                return REFUSED_NOT_AUTHORIZED, "unknown_ae"
            if not study_uid:
                self.refused += 1
                return REFUSED_NOT_AUTHORIZED, "no_study_uid"
            entry = self.studies.get(study_uid)
            if entry is None:
                entry = self.claims.get(study_uid)
                if entry is None:
                    entry = self.claims[study_uid] = [institution, 0, time.monotonic()]
            if entry[0] != institution:
                self.refused += 1
                return REFUSED_NOT_AUTHORIZED, "foreign_study"
            limit = self.max_study_bytes
            if limit is not None and entry[1] + size > limit:
                self.refused += 1
                return OUT_OF_RESOURCES, "study_too_large"
            entry[1] += size
            self.accepted += 1
            return ACCEPT, ""


def _register() -> None:
    import orthanc  # type: ignore[import-not-found]  # only inside Orthanc

    config = json.loads(orthanc.GetConfiguration())
    view_file = config.get("Telemed", {}).get("ViewFile", "/var/lib/telemed/orthanc-view.json")
    rules = Filter(view_file, log=orthanc.LogWarning)

    def on_incoming(instance: Any) -> int:
        if instance.GetInstanceOrigin() != orthanc.InstanceOrigin.DICOM_PROTOCOL:
            return ACCEPT  # REST uploads come from our own forwarder/STOW, already checked
        aet = instance.GetInstanceRemoteAet()
        # The study UID only: no pixel data, short strings (Orthanc's own parse, C++).
        tags = json.loads(
            instance.GetInstanceAdvancedJson(
                orthanc.DicomToJsonFormat.SHORT,
                orthanc.DicomToJsonFlags.STOP_AFTER_PIXEL_DATA
                | orthanc.DicomToJsonFlags.SKIP_GROUP_LENGTHS,
                80,
            )
        )
        uid = str(tags.get(STUDY_INSTANCE_UID, "") or "")
        status, reason = rules.check(aet, uid, instance.GetInstanceSize())
        if status:
            orthanc.LogWarning(f"telemed filter: refused instance of {uid} from {aet}: {reason}")
        return status

    orthanc.RegisterIncomingCStoreInstanceFilter(on_incoming)
    orthanc.LogWarning(f"telemed filter: checking incoming C-STOREs against {view_file}")


try:
    import orthanc  # type: ignore[import-not-found]  # noqa: F401
except ImportError:  # imported by our tests or tools, not by Orthanc
    pass
else:
    _register()
