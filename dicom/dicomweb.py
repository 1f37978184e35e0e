"""DICOMweb for readers and uploaders under `/dicom-web/` (PS3.18), per-study access.

QIDO-RS and WADO-RS (instances, metadata, frames, rendered) are served from the archive,
filtered to what the caller may see: hidden studies are absent from searches and 404 on
direct access; every access is audited. STOW-RS stores uploads under the uploader's
institution. Standard enough for `dicomweb-client` and OHIF with a bearer token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from dicom import own_urls, service
from dicom.archive import ArchiveError, ArchiveUnavailable, NotInArchive, get_archive
from dicom.ingest import Rejected, ingest, inspect_instance
from dicom.schemas import UIDPath
from dicom.spool import Spool
from telemed.core import audit
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden, Invalid, NotFound, Unavailable
from telemed.core.pagination import MAX_OFFSET
from telemed.identity.deps import ClientIP, CurrentUser
from telemed.identity.models import Role, User
from telemed.identity.permissions import is_staff

router = APIRouter(prefix="/dicom-web", tags=["dicomweb"])
DICOM_JSON = "application/dicom+json"
T = TypeVar("T")
MAX_FRAME = 2**31 - 1  # NumberOfFrames is an IS: at most 2^31 - 1


def _json(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, media_type=DICOM_JSON)


def _answer(request: Request, body: Any) -> Response:
    """A QIDO/WADO metadata answer from the archive, with only our own URLs in it."""
    base = str(request.base_url).rstrip("/") + "/dicom-web"
    archive_url = getattr(get_archive(), "url", None)
    return _json(own_urls.rewrite(body, archive_url=archive_url, public_base=base))


def _call(fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Map archive errors to problems (404 / 503)."""
    try:
        return fn(*args, **kw)
    except NotInArchive as exc:
        raise NotFound(str(exc)) from exc
    except ArchiveUnavailable as exc:
        raise Unavailable(f"the image archive is unavailable: {exc}") from exc
    except ArchiveError as exc:
        raise Unavailable(f"the image archive failed: {exc}") from exc


def _params(request: Request) -> dict[str, str]:
    """The QIDO query as one value per key; `limit` and `offset` checked here (422)."""
    out: dict[str, str] = {}
    for k, v in request.query_params.multi_items():
        out[k] = f"{out[k]},{v}" if k in out else v
    for key in ("limit", "offset"):
        value = out.get(key)
        if value is not None and not (
            value.isascii() and value.isdigit() and int(value) <= MAX_OFFSET
        ):
            raise Invalid(f"{key} is an integer from 0 to {MAX_OFFSET}", field=key)
    return out


def _visible(
    session: Session, user: User, study_uid: str, *, what: str, now: Any, ip: str | None
) -> None:
    study = service.get_visible_study(session=session, user=user, study_uid=study_uid)
    service.record_access(session=session, user=user, study=study, what=what, now=now, ip=ip)


def _study_uid_of(item: dict[str, Any]) -> str | None:
    value = item.get("0020000D", {}).get("Value")
    return str(value[0]) if value else None


def _filtered(
    session: Session,
    user: User,
    items: list[dict[str, Any]],
    params: dict[str, str],
    *,
    what: str,
    now: Any,
    ip: str | None,
) -> list[dict[str, Any]]:
    uids = {u for u in (_study_uid_of(i) for i in items) if u}
    allowed = service.visible_study_uids(session=session, user=user, among=uids)
    kept = [i for i in items if _study_uid_of(i) in allowed]
    offset = int(params.get("offset", 0) or 0)
    limit = params.get("limit")
    kept = kept[offset : offset + int(limit)] if limit else kept[offset:]
    from sqlmodel import col, select

    from dicom.models import Study

    shown = {_study_uid_of(i) for i in kept}
    studies = list(session.exec(select(Study).where(col(Study.study_uid).in_(shown))))
    audit.read(
        session,
        user,
        object_type="study",
        patient_ids=[s.patient_id for s in studies],
        object_ids=sorted(s.study_uid for s in studies),
        what=what,
    )
    return kept


def _search_unpaged(params: dict[str, str]) -> dict[str, str]:
    """Ask the archive without limit/offset: paging happens after the access filter."""
    return {k: v for k, v in params.items() if k not in ("limit", "offset")}


UID_CHUNK = 100  # UIDs per archive query (keeps the URL under ~7 kB)
MAX_UID_LIST = 2000  # beyond this, ask unrestricted and filter


def _search_visible(
    session: Session, user: User, level: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    """Search the archive only among the studies the user may see (UID list matching).

    Without this, a reader's query would scan the whole archive and be filtered here.
    Results are still filtered afterwards (`_filtered`) whatever the archive returns.
    """
    query = _search_unpaged(params)
    archive = get_archive()
    if user.role == Role.ADMIN or "StudyInstanceUID" in query or "0020000D" in query:
        return _call(archive.search, level, query)
    visible = sorted(service.visible_study_uids(session=session, user=user))
    if not visible:
        return []
    if len(visible) > MAX_UID_LIST:
        return _call(archive.search, level, query)
    out: list[dict[str, Any]] = []
    for i in range(0, len(visible), UID_CHUNK):
        chunk = ",".join(visible[i : i + UID_CHUNK])
        out.extend(_call(archive.search, level, {**query, "StudyInstanceUID": chunk}))
    return out


# ---------------------------------------------------------------- QIDO-RS


@router.get("/studies")
def search_studies(
    request: Request, session: SessionDep, user: CurrentUser, now: NowDep, ip: ClientIP
) -> Response:
    """QIDO-RS: the studies the caller may see that match the query."""
    params = _params(request)
    items = _search_visible(session, user, "studies", params)
    return _answer(
        request, _filtered(session, user, items, params, what="qido-studies", now=now, ip=ip)
    )


@router.get("/series")
def search_all_series(
    request: Request, session: SessionDep, user: CurrentUser, now: NowDep, ip: ClientIP
) -> Response:
    params = _params(request)
    items = _search_visible(session, user, "series", params)
    return _answer(
        request, _filtered(session, user, items, params, what="qido-series", now=now, ip=ip)
    )


@router.get("/instances")
def search_all_instances(
    request: Request, session: SessionDep, user: CurrentUser, now: NowDep, ip: ClientIP
) -> Response:
    params = _params(request)
    items = _search_visible(session, user, "instances", params)
    return _answer(
        request, _filtered(session, user, items, params, what="qido-instances", now=now, ip=ip)
    )


@router.get("/studies/{study_uid}/series")
def search_series(
    study_uid: UIDPath,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    _visible(session, user, study_uid, what="qido-series", now=now, ip=ip)
    return _answer(
        request, _call(get_archive().search, "series", _params(request), study_uid=study_uid)
    )


@router.get("/studies/{study_uid}/instances")
def search_study_instances(
    study_uid: UIDPath,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    _visible(session, user, study_uid, what="qido-instances", now=now, ip=ip)
    return _answer(
        request, _call(get_archive().search, "instances", _params(request), study_uid=study_uid)
    )


@router.get("/studies/{study_uid}/series/{series_uid}/instances")
def search_instances(
    study_uid: UIDPath,
    series_uid: UIDPath,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    _visible(session, user, study_uid, what="qido-instances", now=now, ip=ip)
    return _answer(
        request,
        _call(
            get_archive().search,
            "instances",
            _params(request),
            study_uid=study_uid,
            series_uid=series_uid,
        ),
    )


# ---------------------------------------------------------------- WADO-RS


@router.get("/studies/{study_uid}/metadata")
def study_metadata(
    study_uid: UIDPath,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    _visible(session, user, study_uid, what="metadata", now=now, ip=ip)
    return _answer(request, _call(get_archive().metadata, study_uid))


@router.get("/studies/{study_uid}/series/{series_uid}/metadata")
def series_metadata(
    study_uid: UIDPath,
    series_uid: UIDPath,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    _visible(session, user, study_uid, what="metadata", now=now, ip=ip)
    return _answer(request, _call(get_archive().metadata, study_uid, series_uid))


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/metadata")
def instance_metadata(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    _visible(session, user, study_uid, what="metadata", now=now, ip=ip)
    return _answer(request, _call(get_archive().metadata, study_uid, series_uid, sop_uid))


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


def _instances_of(study_uid: str, series_uid: str | None = None) -> list[tuple[str, str]]:
    meta = _call(get_archive().metadata, study_uid, series_uid)
    return [(m["0020000E"]["Value"][0], m["00080018"]["Value"][0]) for m in meta]


@router.get("/studies/{study_uid}")
def retrieve_study(
    study_uid: UIDPath, session: SessionDep, user: CurrentUser, now: NowDep, ip: ClientIP
) -> Response:
    _visible(session, user, study_uid, what="retrieve-study", now=now, ip=ip)
    archive = get_archive()
    parts = [_call(archive.instance, study_uid, se, sop) for se, sop in _instances_of(study_uid)]
    return _multipart(parts, "application/dicom")


@router.get("/studies/{study_uid}/series/{series_uid}")
def retrieve_series(
    study_uid: UIDPath,
    series_uid: UIDPath,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    _visible(session, user, study_uid, what="retrieve-series", now=now, ip=ip)
    archive = get_archive()
    parts = [
        _call(archive.instance, study_uid, se, sop)
        for se, sop in _instances_of(study_uid, series_uid)
    ]
    return _multipart(parts, "application/dicom")


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}")
def retrieve_instance(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    _visible(session, user, study_uid, what="retrieve-instance", now=now, ip=ip)
    data = _call(get_archive().instance, study_uid, series_uid, sop_uid)
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
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    numbers = _frame_numbers(frames)
    _visible(session, user, study_uid, what="frames", now=now, ip=ip)
    data = _call(get_archive().frames, study_uid, series_uid, sop_uid, numbers)
    return _multipart(data, "application/octet-stream", "; transfer-syntax=1.2.840.10008.1.2.1")


def _window(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    parts = text.split(",")
    try:
        return float(parts[0]), float(parts[1])
    except (IndexError, ValueError) as exc:
        raise Invalid("window is centre,width[,function]", field="window") from exc


def _rendered_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    return "image/jpeg" if "image/jpeg" in accept and "image/png" not in accept else "image/png"


def _render(
    request: Request,
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    frame: int,
    window: str | None,
) -> Response:
    media_type = _rendered_type(request)
    data = _call(
        get_archive().rendered,
        study_uid,
        series_uid,
        sop_uid,
        frame=frame,
        window=_window(window),
        media_type=media_type,
    )
    return Response(data, media_type=media_type)


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/rendered")
def rendered_instance(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
    window: Annotated[str | None, Query(description="centre,width[,linear]")] = None,
) -> Response:
    """The first frame rendered (PNG, or JPEG when asked), windowed if `window` is given."""
    _visible(session, user, study_uid, what="rendered", now=now, ip=ip)
    return _render(request, study_uid, series_uid, sop_uid, 1, window)


@router.get("/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/{frame}/rendered")
def rendered_frame(
    study_uid: UIDPath,
    series_uid: UIDPath,
    sop_uid: UIDPath,
    frame: Annotated[int, Path(ge=1, le=MAX_FRAME)],
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
    window: Annotated[str | None, Query(description="centre,width[,linear]")] = None,
) -> Response:
    _visible(session, user, study_uid, what="rendered", now=now, ip=ip)
    return _render(request, study_uid, series_uid, sop_uid, frame, window)


# ---------------------------------------------------------------- STOW-RS

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


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
    return _json(body, status)


def _store_all(
    *,
    session: Session,
    user: User,
    parts: list[bytes],
    expected_study: str | None,
    patient_id: uuid.UUID | None,
    settings: Any,
    now: Any,
    ip: str | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    archive = get_archive(settings)
    stored: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for data in parts:
        try:
            inspected = inspect_instance(data)
        except Rejected as exc:
            failed.append({"00081197": {"vr": "US", "Value": [exc.status]}, "_reason": exc.reason})
            continue
        info = inspected.info
        ref = {
            "00081150": {"vr": "UI", "Value": [info.sop_class_uid]},
            "00081155": {"vr": "UI", "Value": [info.sop_uid]},
        }
        if expected_study and info.study_uid != expected_study:
            failed.append({**ref, "00081197": {"vr": "US", "Value": [0xA900]}})
            continue
        # One owner per study: `ingest` refuses (0x0124) a study another institution sent.
        try:
            with session.begin_nested():
                result = ingest(
                    session=session,
                    archive=archive,
                    data=data,
                    inspected=inspected,
                    institution_id=user.institution_id,
                    source_ae=None,
                    source="stow",
                    now=now,
                    max_study_bytes=settings.dicom.max_study_bytes,
                    patient_id=patient_id,
                )
        except Rejected as exc:
            failed.append({**ref, "00081197": {"vr": "US", "Value": [exc.status]}})
            continue
        except ArchiveUnavailable:
            # Keep it: the forwarder stores and indexes it when the archive is back.
            Spool(settings.dicom.spool_dir).put(
                data,
                {
                    "institution_id": str(user.institution_id) if user.institution_id else None,
                    "source_ae": None,
                    "source": "stow",
                    "patient_id": str(patient_id) if patient_id else None,
                },
            )
            stored.append(
                {**ref, "_study": info.study_uid, "00081196": {"vr": "US", "Value": [0xB000]}}
            )
            continue
        except ArchiveError as exc:
            failed.append({**ref, "00081197": {"vr": "US", "Value": [0xC000]}, "_reason": str(exc)})
            continue
        study = service.study_by_uid(session, result.study_uid)
        if study is not None:
            service.record_access(
                session=session,
                user=user,
                study=study,
                what="stow",
                now=now,
                ip=ip,
                action="create",
                detail={"sop_uid": result.sop_uid},
            )
        url = (
            f"/dicom-web/studies/{result.study_uid}/series/{result.series_uid}"
            f"/instances/{result.sop_uid}"
        )
        stored.append({**ref, "_study": result.study_uid, "00081190": {"vr": "UR", "Value": [url]}})
    for f in failed:
        f.pop("_reason", None)
    return stored, failed


async def _stow(
    request: Request,
    session: Session,
    user: User,
    settings: Any,
    now: Any,
    ip: str | None,
    study_uid: str | None,
    patient_id: uuid.UUID | None,
) -> Response:
    if not is_staff(user) or user.role == Role.ADMIN and user.institution_id is None:
        raise Forbidden("only staff of an institution may upload studies")
    length = int(request.headers.get("content-length") or 0)
    if length > settings.dicom.max_study_bytes:
        from telemed.core.errors import DomainError

        class TooLarge(DomainError):
            status, code, title = 413, "too_large", "Payload too large"

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
        from telemed.identity.permissions import require_patient_read

        await run_in_threadpool(require_patient_read, session, user, patient_id)
    stored, failed = await run_in_threadpool(
        lambda: _store_all(
            session=session,
            user=user,
            parts=parts,
            expected_study=study_uid,
            patient_id=patient_id,
            settings=settings,
            now=now,
            ip=ip,
        )
    )
    return _stow_result(request, stored, failed)


@router.post("/studies")
async def stow_studies(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    now: NowDep,
    ip: ClientIP,
    patient_id: uuid.UUID | None = None,
) -> Response:
    """STOW-RS: store instances under the uploader's institution (200, 202 partial, 409)."""
    return await _stow(request, session, user, settings, now, ip, None, patient_id)


@router.post("/studies/{study_uid}")
async def stow_study(
    study_uid: UIDPath,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    now: NowDep,
    ip: ClientIP,
    patient_id: uuid.UUID | None = None,
) -> Response:
    return await _stow(request, session, user, settings, now, ip, study_uid, patient_id)
