"""The view our Orthanc filter plugin (`dicom/orthanc_plugin/filter.py`) checks against.

Orthanc's embedded Python cannot ask our database per instance at the wire's speed, so the
change feed writes what the plugin needs into one JSON file, atomically (temp file +
`os.replace`; the plugin re-reads it when its mtime changes):

- ``aes``: every registered calling AE title -> its institution id (the allow-list);
- ``studies``: study UID -> [owning institution id, bytes] for studies updated within
  `window_days` (the one-owner rule and the size limit; older studies are still
  checked by the feed in its indexing transaction, which removes a foreign instance);
- ``max_study_bytes``: the per-study limit (`TELEMED_DICOM__MAX_STUDY_BYTES`).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dicom.models import Study
from telemed.core import clock
from telemed.network.models import DicomAE

WINDOW_DAYS = 30


def build_view(
    session: Session, *, max_study_bytes: int, window_days: int = WINDOW_DAYS
) -> dict[str, Any]:
    since = clock.now() - timedelta(days=window_days)
    aes = {ae.ae_title: str(ae.institution_id) for ae in session.exec(select(DicomAE))}
    rows = session.execute(
        select(Study.study_uid, Study.source_institution_id, Study.size_bytes).where(
            col(Study.updated_at) >= since
        )
    )
    studies = {
        uid: [str(owner) if owner is not None else None, int(size or 0)]
        for uid, owner, size in rows
    }
    return {"aes": aes, "studies": studies, "max_study_bytes": max_study_bytes}


def write_view(
    engine: Engine, path: Path, *, max_study_bytes: int, window_days: int = WINDOW_DAYS
) -> int:
    """Write the view to `path` atomically; returns how many studies it holds."""
    with Session(engine) as session:
        view = build_view(session, max_study_bytes=max_study_bytes, window_days=window_days)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(view, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)
    return len(view["studies"])
