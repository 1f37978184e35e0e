"""The web app's built files, gzip-compressed for browsers that accept it.

The viewer's chunk is ~4.2 MB of JavaScript and its codecs are WebAssembly: on a county's
10 Mbit/s link the first open waits for them, and they shrink 3-4× with gzip. Each file is
compressed once per version (path, size, mtime) in a worker thread and kept in memory; the
hashed asset names of a build make that a handful of files. Ranges, small files and already
compressed types (images, fonts) are served as they are.
"""

from __future__ import annotations

import os
from functools import lru_cache

import anyio
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from telemed.core.compression import MIN_SIZE, accepts_gzip, gzip_bytes

COMPRESSIBLE = (
    "text/",
    "application/javascript",
    "application/json",
    "application/wasm",
    "image/svg+xml",
)


@lru_cache(maxsize=64)
def _gzipped(path: str, size: int, mtime_ns: int) -> bytes:
    """The gzip of one file version (size and mtime key the cache; a rebuild misses it)."""
    with open(path, "rb") as f:
        return gzip_bytes(f.read())


class CompressedStaticFiles(StaticFiles):
    """`StaticFiles` that answers `Content-Encoding: gzip` when the browser accepts it."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if not isinstance(response, FileResponse) or response.status_code != 200:
            return response
        media = response.media_type or ""
        response.headers.append("Vary", "Accept-Encoding")
        stat = response.stat_result
        headers = Headers(scope=scope)
        if (
            stat is None
            or stat.st_size < MIN_SIZE
            or not media.startswith(COMPRESSIBLE)
            or "range" in headers
            or not accepts_gzip(headers)
        ):
            return response
        body = await anyio.to_thread.run_sync(
            _gzipped, os.fspath(response.path), stat.st_size, stat.st_mtime_ns
        )
        out = Response(body, media_type=media)
        for name in ("last-modified", "cache-control"):
            if name in response.headers:
                out.headers[name] = response.headers[name]
        if "etag" in response.headers:  # another representation, another tag
            out.headers["etag"] = response.headers["etag"].rstrip('"') + '-gz"'
        out.headers["content-encoding"] = "gzip"
        out.headers["vary"] = "Accept-Encoding"
        return out


__all__ = ["CompressedStaticFiles"]
