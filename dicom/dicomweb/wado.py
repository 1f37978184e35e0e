"""WADO-RS: metadata, instances, frames and rendered images of the studies the caller may see."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Query
from fastapi.responses import Response

from dicom.dicomweb.common import WebRequest, WebRequestDep, answer, call, dicomweb_router
from dicom.schemas import UIDPath
from telemed.core.errors import Invalid

router = dicomweb_router()
MAX_FRAME = 2**31 - 1  # NumberOfFrames is an IS: at most 2^31 - 1


def _metadata(web: WebRequest, study_uid: str, *more: str) -> Response:
    web.open_study(study_uid, what="metadata")
    return answer(web, call(web.archive.metadata, study_uid, *more))


@router.get("/studies/{study_uid}/metadata")
def study_metadata(study_uid: UIDPath, web: WebRequestDep) -> Response:
    return _metadata(web, study_uid)


@router.get("/studies/{study_uid}/series/{series_uid}/metadata")
def series_metadata(study_uid: UIDPath, series_uid: UIDPath, web: WebRequestDep) -> Response:
    return _metadata(web, study_uid, series_uid)


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/metadata")
def instance_metadata(
    study_uid: UIDPath, series_uid: UIDPath, sop_uid: UIDPath, web: WebRequestDep
) -> Response:
    return _metadata(web, study_uid, series_uid, sop_uid)


def _multipart(parts: list[bytes], media_type: str, extra: str = "") -> Response:
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for part in parts:
        chunks.append(f"--{boundary}\r\nContent-Type: {media_type}{extra}\r\n\r\n".encode())
        chunks.append(part)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return Response(
        b"".join(chunks),
        media_type=f'multipart/related; type="{media_type}"; boundary={boundary}',
    )


def _instances(web: WebRequest, study_uid: str, series_uid: str | None = None) -> Response:
    """Every instance of a study (or one of its series) as multipart/related DICOM."""
    web.open_study(study_uid, what="retrieve-series" if series_uid else "retrieve-study")
    meta = call(web.archive.metadata, study_uid, series_uid)
    sops = [(m["0020000E"]["Value"][0], m["00080018"]["Value"][0]) for m in meta]
    parts = [call(web.archive.instance, study_uid, se, sop) for se, sop in sops]
    return _multipart(parts, "application/dicom")


@router.get("/studies/{study_uid}")
def retrieve_study(study_uid: UIDPath, web: WebRequestDep) -> Response:
    return _instances(web, study_uid)


@router.get("/studies/{study_uid}/series/{series_uid}")
def retrieve_series(study_uid: UIDPath, series_uid: UIDPath, web: WebRequestDep) -> Response:
    return _instances(web, study_uid, series_uid)


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}")
def retrieve_instance(
    study_uid: UIDPath, series_uid: UIDPath, sop_uid: UIDPath, web: WebRequestDep
) -> Response:
    web.open_study(study_uid, what="retrieve-instance")
    data = call(web.archive.instance, study_uid, series_uid, sop_uid)
    return _multipart([data], "application/dicom")


def _frame_numbers(text: str) -> list[int]:
    try:
        numbers = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise Invalid("frame numbers must be integers", field="frames") from exc
    if not numbers or any(n < 1 for n in numbers):
        raise Invalid("frame numbers start at 1", field="frames")
    if any(n > MAX_FRAME for n in numbers):
        raise Invalid(f"frame numbers are at most {MAX_FRAME}", field="frames")
    return numbers


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/{frames}")
def retrieve_frames(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    frames: Annotated[
        str, Path(pattern=r"^[0-9]+(,[0-9]+)*$", description="1-based frame numbers, n[,m...]")
    ],
    web: WebRequestDep,
) -> Response:
    numbers = _frame_numbers(frames)
    web.open_study(study_uid, what="frames")
    data = call(web.archive.frames, study_uid, series_uid, sop_uid, numbers)
    return _multipart(data, "application/octet-stream", "; transfer-syntax=1.2.840.10008.1.2.1")


def _window(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    parts = text.split(",")
    try:
        return float(parts[0]), float(parts[1])
    except (IndexError, ValueError) as exc:
        raise Invalid("window is centre,width[,function]", field="window") from exc


def _render(
    web: WebRequest, study_uid: str, series_uid: str, sop_uid: str, frame: int, window: str | None
) -> Response:
    """One frame rendered (PNG, or JPEG when asked), windowed if `window` is given."""
    web.open_study(study_uid, what="rendered")
    accept = web.request.headers.get("accept", "")
    media_type = (
        "image/jpeg" if "image/jpeg" in accept and "image/png" not in accept else "image/png"
    )
    data = call(
        web.archive.rendered,
        study_uid,
        series_uid,
        sop_uid,
        frame=frame,
        window=_window(window),
        media_type=media_type,
    )
    return Response(data, media_type=media_type)


WindowQuery = Annotated[str | None, Query(description="centre,width[,linear]")]


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/rendered")
def rendered_instance(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    web: WebRequestDep,
    window: WindowQuery = None,
) -> Response:
    """The first frame rendered (PNG, or JPEG when asked), windowed if `window` is given."""
    return _render(web, study_uid, series_uid, sop_uid, 1, window)


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/{frame}/rendered")
def rendered_frame(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    frame: Annotated[int, Path(ge=1, le=MAX_FRAME)],
    web: WebRequestDep,
    window: WindowQuery = None,
) -> Response:
    return _render(web, study_uid, series_uid, sop_uid, frame, window)
