"""STOW-RS: uploads stored under the uploader's institution (200, 202 partial, 409).

Each instance goes the one ingest way (`dicom.ingest.receive`): checked, held durably in
the spool, then stored and indexed in this request so the answer names what was stored;
when the archive is unavailable the forwarder finishes it later (warning 0xB000).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from dicom import service
from dicom.archive import ArchiveError, ArchiveUnavailable
from dicom.dicomweb.common import WebRequest, WebRequestDep, dicomweb_router, json_response
from dicom.ingest import (
    NotReceived,
    Origin,
    Rejected,
    inspect_instance,
    receive,
    store_received,
)
from dicom.schemas import UIDPath
from dicom.spool import Spool
from telemed.core.deps import SettingsDep
from telemed.core.errors import DomainError, Forbidden, Invalid
from telemed.core.settings import Settings
from telemed.identity.models import Role
from telemed.identity.permissions import is_staff, require_patient_read

router = dicomweb_router()

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


class TooLarge(DomainError):
    status, code, title = 413, "too_large", "Payload too large"


def parse_multipart_related(body: bytes, content_type: str) -> list[bytes]:
    """The bodies of a multipart/related payload (PS3.18 STOW-RS request)."""
    m = _BOUNDARY.search(content_type)
    if not m:
        raise Invalid("multipart/related without a boundary", field="Content-Type")
    delimiter = b"--" + m.group(1).encode()
    parts: list[bytes] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        _, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        parts.append(content[:-2] if content.endswith(b"\r\n") else content)
    return parts


def _stow_result(
    request: Request, stored: list[dict[str, Any]], failed: list[dict[str, Any]]
) -> Response:
    """The STOW-RS answer: 200 all stored, 202 some, 409 none."""
    body: dict[str, Any] = {}
    if stored:
        body["00081199"] = {"vr": "SQ", "Value": stored}
        study = {s["_study"] for s in stored}
        if len(study) == 1:
            url = str(request.base_url).rstrip("/") + f"/dicom-web/studies/{study.pop()}"
            body["00081190"] = {"vr": "UR", "Value": [url]}
        for s in stored:
            s.pop("_study", None)
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    status = 200 if not failed else (202 if stored else 409)
    return json_response(body, status)


def _store_all(
    *,
    web: WebRequest,
    parts: list[bytes],
    expected_study: str | None,
    patient_id: uuid.UUID | None,
    settings: Settings,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    session, user, now = web.session, web.user, web.now
    spool = Spool(settings.dicom.spool_dir)
    origin = Origin(institution_id=user.institution_id, source="stow", patient_id=patient_id)
    stored: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for data in parts:
        try:
            inspected = inspect_instance(data)
        except Rejected as exc:
            failed.append({"00081197": {"vr": "US", "Value": [exc.status]}})
            continue
        info = inspected.info
        ref = {
            "00081150": {"vr": "UI", "Value": [info.sop_class_uid]},
            "00081155": {"vr": "UI", "Value": [info.sop_uid]},
        }
        if expected_study and info.study_uid != expected_study:
            failed.append({**ref, "00081197": {"vr": "US", "Value": [0xA900]}})
            continue
        try:
            receipt = receive(spool=spool, data=data, origin=origin, inspected=inspected, hold=True)
        except NotReceived as exc:  # our spool failed: this instance only, the client retries
            failed.append({**ref, "00081197": {"vr": "US", "Value": [exc.status]}})
            continue
        # One owner per study: `ingest` refuses (0x0124) a study another institution sent.
        try:
            result = store_received(
                session=session,
                archive=web.archive,
                spool=spool,
                receipt=receipt,
                data=data,
                origin=origin,
                now=now,
                max_study_bytes=settings.dicom.max_study_bytes,
            )
        except Rejected as exc:
            failed.append({**ref, "00081197": {"vr": "US", "Value": [exc.status]}})
            continue
        except ArchiveUnavailable:  # kept: the forwarder stores it when the archive is back
            stored.append(
                {**ref, "_study": info.study_uid, "00081196": {"vr": "US", "Value": [0xB000]}}
            )
            continue
        except ArchiveError:
            failed.append({**ref, "00081197": {"vr": "US", "Value": [0xC000]}})
            continue
        study = service.study_by_uid(session, result.study_uid)
        if study is not None:
            service.record_access(
                session=session,
                user=user,
                study=study,
                what="stow",
                now=now,
                ip=web.ip,
                action="create",
                detail={"sop_uid": result.sop_uid},
            )
        url = (
            f"/dicom-web/studies/{result.study_uid}/series/{result.series_uid}"
            f"/instances/{result.sop_uid}"
        )
        stored.append({**ref, "_study": result.study_uid, "00081190": {"vr": "UR", "Value": [url]}})
    return stored, failed


async def _stow(
    web: WebRequest, settings: Settings, study_uid: str | None, patient_id: uuid.UUID | None
) -> Response:
    request, user = web.request, web.user
    if not is_staff(user) or user.role == Role.ADMIN and user.institution_id is None:
        raise Forbidden("only staff of an institution may upload studies")
    length = int(request.headers.get("content-length") or 0)
    if length > settings.dicom.max_study_bytes:
        raise TooLarge(f"upload of {length} bytes exceeds {settings.dicom.max_study_bytes}")
    ctype = request.headers.get("content-type", "")
    body = await request.body()
    if ctype.lower().startswith("multipart/related"):
        parts = parse_multipart_related(body, ctype)
    elif ctype.lower().startswith("application/dicom"):
        parts = [body]
    else:
        raise Invalid(
            'STOW-RS expects multipart/related; type="application/dicom"', field="Content-Type"
        )
    if not parts:
        raise Invalid("no DICOM parts in the request", field="body")
    if patient_id is not None:
        await run_in_threadpool(require_patient_read, web.session, user, patient_id)
    stored, failed = await run_in_threadpool(
        lambda: _store_all(
            web=web,
            parts=parts,
            expected_study=study_uid,
            patient_id=patient_id,
            settings=settings,
        )
    )
    return _stow_result(request, stored, failed)


@router.post("/studies")
async def stow_studies(
    web: WebRequestDep, settings: SettingsDep, patient_id: uuid.UUID | None = None
) -> Response:
    """STOW-RS: store instances under the uploader's institution (200, 202 partial, 409)."""
    return await _stow(web, settings, None, patient_id)


@router.post("/studies/{study_uid}")
async def stow_study(
    study_uid: UIDPath,
    web: WebRequestDep,
    settings: SettingsDep,
    patient_id: uuid.UUID | None = None,
) -> Response:
    return await _stow(web, settings, study_uid, patient_id)
