"""QIDO-RS: searches answered from the archive, filtered to the studies the caller may see."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from sqlmodel import col, select

from dicom import service
from dicom.dicomweb.common import (
    WebRequest,
    WebRequestDep,
    answer,
    answer_bytes,
    call,
    dicomweb_router,
    json_response,
    query_params,
)
from dicom.models import Study
from dicom.schemas import UIDPath
from telemed.core import audit
from telemed.identity.models import Role

router = dicomweb_router()

UID_CHUNK = 100  # UIDs per archive query (keeps the URL under ~7 kB)
MAX_UID_LIST = 2000  # beyond this, ask unrestricted and filter


def _study_uid_of(item: dict[str, Any]) -> str | None:
    value = item.get("0020000D", {}).get("Value")
    return str(value[0]) if value else None


def _filtered(
    web: WebRequest, items: list[dict[str, Any]], params: dict[str, str], *, what: str
) -> list[dict[str, Any]]:
    """The results the caller may see, paged, with one audit row naming their patients."""
    session, user = web.session, web.user
    uids = {u for u in (_study_uid_of(i) for i in items) if u}
    allowed = service.visible_study_uids(session=session, user=user, among=uids)
    kept = [i for i in items if _study_uid_of(i) in allowed]
    offset = int(params.get("offset", 0) or 0)
    limit = params.get("limit")
    kept = kept[offset : offset + int(limit)] if limit else kept[offset:]
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


def _search_visible(web: WebRequest, level: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Search the archive only among the studies the user may see (UID list matching).

    Without this, a reader's query would scan the whole archive and be filtered here.
    Results are still filtered afterwards (`_filtered`) whatever the archive returns.
    """
    query = _search_unpaged(params)
    user, archive = web.user, web.archive
    if user.role == Role.ADMIN or "StudyInstanceUID" in query or "0020000D" in query:
        return call(archive.search, level, query)
    visible = sorted(service.visible_study_uids(session=web.session, user=user))
    if not visible:
        return []
    if len(visible) > MAX_UID_LIST:
        return call(archive.search, level, query)
    out: list[dict[str, Any]] = []
    for i in range(0, len(visible), UID_CHUNK):
        chunk = ",".join(visible[i : i + UID_CHUNK])
        out.extend(call(archive.search, level, {**query, "StudyInstanceUID": chunk}))
    return out


def _one_study_uid(params: dict[str, str]) -> str | None:
    """The Study Instance UID of a query naming exactly one study (no list, no wildcard)."""
    value = params.get("StudyInstanceUID") or params.get("0020000D")
    if value and not any(c in value for c in ",\\*?"):
        return value
    return None


def _search_one_study(web: WebRequest, level: str, params: dict[str, str], uid: str) -> Response:
    """A search within one named study: every result belongs to it, so one indexed query
    decides for all of them and the archive's answer is passed on unparsed (its own
    limit/offset applying), audited as the list read it is."""
    study = service.visible_study(session=web.session, user=web.user, study_uid=uid)
    if study is None:
        return json_response([])
    body = call(web.archive.search_json, level, params)
    if b"0020000D" in body.upper():  # at least one result (each names its study)
        audit.read(
            web.session,
            web.user,
            object_type="study",
            patient_ids=[study.patient_id],
            object_ids=[study.study_uid],
            what=f"qido-{level}",
        )
    return answer_bytes(web, body)


def _search_all(web: WebRequest, level: str) -> Response:
    params = query_params(web.request)
    uid = _one_study_uid(params)
    if uid is not None:
        return _search_one_study(web, level, params, uid)
    items = _search_visible(web, level, params)
    return answer(web, _filtered(web, items, params, what=f"qido-{level}"))


@router.get("/studies")
def search_studies(web: WebRequestDep) -> Response:
    """QIDO-RS: the studies the caller may see that match the query."""
    return _search_all(web, "studies")


@router.get("/series")
def search_all_series(web: WebRequestDep) -> Response:
    return _search_all(web, "series")


@router.get("/instances")
def search_all_instances(web: WebRequestDep) -> Response:
    return _search_all(web, "instances")


def _search_in(
    web: WebRequest, level: str, study_uid: str, series_uid: str | None = None
) -> Response:
    web.open_study(study_uid, what=f"qido-{level}")
    params = query_params(web.request)
    kw = {"study_uid": study_uid} | ({"series_uid": series_uid} if series_uid else {})
    return answer_bytes(web, call(web.archive.search_json, level, params, **kw))


@router.get("/studies/{study_uid}/series")
def search_series(study_uid: UIDPath, web: WebRequestDep) -> Response:
    return _search_in(web, "series", study_uid)


@router.get("/studies/{study_uid}/instances")
def search_study_instances(study_uid: UIDPath, web: WebRequestDep) -> Response:
    return _search_in(web, "instances", study_uid)


@router.get("/studies/{study_uid}/series/{series_uid}/instances")
def search_instances(study_uid: UIDPath, series_uid: UIDPath, web: WebRequestDep) -> Response:
    return _search_in(web, "instances", study_uid, series_uid)
