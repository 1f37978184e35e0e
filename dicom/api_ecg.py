"""Route of the ECG reader: the leads of a study's ECG in µV and the automatic measurements.

`GET /api/v1/studies/{uid}/ecg` reads like every study read: the study is loaded only if the
caller may see it (404 otherwise, a `refused` audit row when it exists) and the access is
audited (`detail.what = "ecg"`). Included in `dicom.api.router`.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import col, select

from dicom import ecg, ecg_measure, service
from dicom.archive import ArchiveDep
from dicom.dicomweb.common import call
from dicom.models import Instance
from dicom.schemas import UID_PATTERN, UIDPath
from telemed.core.compression import maybe_gzipped
from telemed.core.deps import NowDep, SessionDep
from telemed.core.errors import Invalid, NotFound
from telemed.identity.deps import ClientIP, CurrentUser

router = APIRouter()

# Measurements depend only on the (immutable) instance: computed once per SOP Instance UID.
_CACHE_SIZE = 64
_measured: OrderedDict[str, dict[str, Any]] = OrderedDict()
_lock = threading.Lock()


def _measurements(sop_uid: str, wave: ecg.Waveform) -> dict[str, Any]:
    with _lock:
        if sop_uid in _measured:
            _measured.move_to_end(sop_uid)
            return dict(_measured[sop_uid])
    result = ecg_measure.measure(wave)
    with _lock:
        _measured[sop_uid] = result
        while len(_measured) > _CACHE_SIZE:
            _measured.popitem(last=False)
    return dict(result)


def _load(
    session: SessionDep,
    user: CurrentUser,
    archive: ArchiveDep,
    study_uid: str,
    instance: str | None,
    *,
    what: str,
    now: NowDep,
    ip: str | None,
) -> tuple[list[Instance], Instance, ecg.Waveform]:
    """The study's ECG instances, the chosen one and its decoded waveform (audited read)."""
    study = service.get_visible_study(session=session, user=user, study_uid=study_uid)
    rows = session.exec(
        select(Instance)
        .where(Instance.study_uid == study_uid)
        .where(col(Instance.sop_class_uid).in_(list(ecg.ECG_SOP_CLASSES)))
        .order_by(col(Instance.series_number), col(Instance.instance_number), Instance.sop_uid)
    ).all()
    chosen = [row for row in rows if instance in (None, row.sop_uid)]
    if not chosen:
        raise NotFound(
            f"study {study_uid} has no ECG waveform" + (f" {instance}" if instance else ""),
            code="no_ecg",
        )
    row = chosen[0]
    data = call(archive.instance, study_uid, row.series_uid, row.sop_uid)
    try:
        wave = ecg.decode_bytes(data)
    except ecg.NotAnEcg as exc:
        raise Invalid(
            f"the ECG cannot be read: {exc}", field="instance", code="not_an_ecg"
        ) from exc
    service.record_access(
        session=session,
        user=user,
        study=study,
        what=what,
        now=now,
        ip=ip,
        detail={"sop_uid": row.sop_uid},
    )
    return list(rows), row, wave


InstanceQuery = Annotated[str | None, Query(pattern=UID_PATTERN)]


def _json(request: Request, content: dict[str, Any]) -> Response:
    """JSON, gzip-compressed when the client takes it: the samples are ~250 kB of digits
    that shrink about threefold, which a 10 Mbit/s county link notices."""
    body = json.dumps(content, separators=(",", ":")).encode()
    return maybe_gzipped(body, media_type="application/json", request_headers=request.headers)


@router.get("/studies/{study_uid}/ecg")
def study_ecg(
    request: Request,
    study_uid: UIDPath,
    session: SessionDep,
    user: CurrentUser,
    archive: ArchiveDep,
    now: NowDep,
    ip: ClientIP,
    instance: InstanceQuery = None,
    max_rate: Annotated[float, Query(ge=100, le=20000)] = 1000.0,
) -> Response:
    """The ECG of a study: every lead in µV (downsampled only above `max_rate` Hz) with its
    label and recorded filters; the measurements are `…/ecg/measurements`."""
    rows, row, wave = _load(session, user, archive, study_uid, instance, what="ecg", now=now, ip=ip)
    return _json(
        request,
        {
            "study_uid": study_uid,
            "series_uid": row.series_uid,
            "sop_uid": row.sop_uid,
            "instances": [r.sop_uid for r in rows],
            **ecg.as_payload(wave, max_rate=max_rate),
        },
    )


@router.get("/studies/{study_uid}/ecg/measurements")
def study_ecg_measurements(
    study_uid: UIDPath,
    session: SessionDep,
    user: CurrentUser,
    archive: ArchiveDep,
    now: NowDep,
    ip: ClientIP,
    instance: InstanceQuery = None,
) -> dict[str, Any]:
    """The automatic measurements of the study's ECG (labelled automatic, never a diagnosis);
    computed once per instance (seconds of neurokit2), so the tracing does not wait for them."""
    _, row, wave = _load(
        session, user, archive, study_uid, instance, what="ecg-measurements", now=now, ip=ip
    )
    return {"study_uid": study_uid, "sop_uid": row.sop_uid, **_measurements(row.sop_uid, wave)}
