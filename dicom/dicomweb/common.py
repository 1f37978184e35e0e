"""What the DICOMweb services share: the request (`WebRequestDep`), archive error mapping
and DICOM JSON answers carrying only our own URLs."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlmodel import Session

from dicom import own_urls, service
from dicom.archive import (
    Archive,
    ArchiveDep,
    ArchiveError,
    ArchiveUnavailable,
    NotInArchive,
    Streamed,
    wants_stored_syntax,
)
from telemed.core.compression import maybe_gzipped
from telemed.core.deps import NowDep, SessionDep
from telemed.core.errors import Invalid, NotFound, Unavailable
from telemed.core.pagination import MAX_OFFSET
from telemed.identity.deps import ClientIP, CurrentUser
from telemed.identity.models import User

DICOM_JSON = "application/dicom+json"
T = TypeVar("T")


def dicomweb_router() -> APIRouter:
    """A router of one DICOMweb service, mounted under `/dicom-web`."""
    return APIRouter(prefix="/dicom-web", tags=["dicomweb"])


@dataclass(frozen=True)
class WebRequest:
    """One DICOMweb request: who asks, in which transaction, when, from where, of which archive."""

    request: Request
    session: Session
    user: User
    now: datetime
    ip: str | None
    archive: Archive

    @property
    def public_base(self) -> str:
        """Our own DICOMweb base URL as the caller reached it."""
        return str(self.request.base_url).rstrip("/") + "/dicom-web"

    @property
    def stored_syntax(self) -> bool:
        """True when the caller accepts any transfer syntax (`transfer-syntax=*`)."""
        return wants_stored_syntax(self.request.headers.get("accept", ""))

    def open_study(self, study_uid: str, *, what: str) -> None:
        """404 unless the caller may see the study; audit the access."""
        service.open_study(
            session=self.session, user=self.user, study_uid=study_uid, what=what, now=self.now
        )


async def _web_request(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
    archive: ArchiveDep,
) -> WebRequest:
    return WebRequest(request=request, session=session, user=user, now=now, ip=ip, archive=archive)


WebRequestDep = Annotated[WebRequest, Depends(_web_request)]


def json_response(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, media_type=DICOM_JSON)


def answer(web: WebRequest, body: Any) -> Response:
    """A QIDO/WADO metadata answer from the archive, with only our own URLs in it (gzip as
    `answer_bytes`)."""
    base = web.public_base
    rewritten = own_urls.rewrite(body, archive_url=web.archive.url, public_base=base)
    out = json.dumps(rewritten, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return maybe_gzipped(out.encode(), media_type=DICOM_JSON, request_headers=web.request.headers)


def answer_bytes(web: WebRequest, body: bytes) -> Response:
    """A DICOM JSON answer as the archive wrote it, with only our own URLs in it; gzip when
    the client takes it (a series' metadata shrinks many times over: on a 10 Mbit/s link that
    was most of the wait for a viewer's first image)."""
    out = own_urls.rewrite_bytes(body, archive_url=web.archive.url, public_base=web.public_base)
    return maybe_gzipped(out, media_type=DICOM_JSON, request_headers=web.request.headers)


SMALL_ANSWER = 1024 * 1024  # bytes: an answer this small goes out in one piece


def streamed(answer: Streamed) -> Response:
    """The archive's answer passed on chunk by chunk (its connection released at the end).

    Up to `SMALL_ANSWER` bytes are read here first: when that is the whole answer (a
    frame, a rendered image) it is sent in one piece, sparing a worker-thread hop per
    chunk; a longer one streams on from there."""
    chunks = iter(answer)
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size >= SMALL_ANSWER:
            break
    else:
        return Response(b"".join(head), media_type=answer.media_type, headers=answer.headers)
    return StreamingResponse(
        itertools.chain(head, chunks), media_type=answer.media_type, headers=answer.headers
    )


def call(fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Map archive errors to problems (404 / 503)."""
    try:
        return fn(*args, **kw)
    except NotInArchive as exc:
        raise NotFound(str(exc)) from exc
    except ArchiveUnavailable as exc:
        raise Unavailable(f"the image archive is unavailable: {exc}") from exc
    except ArchiveError as exc:
        raise Unavailable(f"the image archive failed: {exc}") from exc


def query_params(request: Request) -> dict[str, str]:
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
