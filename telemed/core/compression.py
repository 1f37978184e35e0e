"""gzip for answers that shrink: does the client take it, and the compressed response.

One place for the choice the built files (`static_files`), the ECG samples and the DICOM
JSON of the viewer all make (a 300-slice series' metadata is ~0.7 MB of JSON that shrinks
many times over: half a second on a county's 10 Mbit/s link). Standard-library `gzip`:
every browser takes it, and level 6 compresses a megabyte of JSON in milliseconds.
"""

from __future__ import annotations

import gzip

from starlette.datastructures import Headers
from starlette.responses import Response

__all__ = ["MIN_SIZE", "accepts_gzip", "gzip_bytes", "maybe_gzipped"]

MIN_SIZE = 1024  # below this the header costs about what gzip saves
LEVEL = 6


def accepts_gzip(headers: Headers) -> bool:
    """The request's Accept-Encoding takes gzip (or anything) with a non-zero weight."""
    for part in headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*") and params.replace(" ", "") != "q=0":
            return True
    return False


def gzip_bytes(body: bytes) -> bytes:
    """The gzip of `body` (no timestamp: the same body compresses to the same bytes)."""
    return gzip.compress(body, compresslevel=LEVEL, mtime=0)


def maybe_gzipped(body: bytes, *, media_type: str, request_headers: Headers) -> Response:
    """`body` as a response, gzip-compressed when the client takes it and it is worth it."""
    if len(body) < MIN_SIZE or not accepts_gzip(request_headers):
        return Response(body, media_type=media_type, headers={"Vary": "Accept-Encoding"})
    return Response(
        gzip_bytes(body),
        media_type=media_type,
        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
    )
