"""Answers that leave the archive as a stream: WADO-RS bodies passed through chunk by chunk.

`Streamed` is what the archive adapters hand the DICOMweb routes (a media type, headers to
pass on, the chunks and how to release the upstream connection). `multipart()` builds a
multipart/related body part by part (the embedded archive); `drop_part_headers()` filters
the part headers of an archive's multipart body as it flows (Orthanc names itself in each
part's `Content-Location`), never touching the part bodies.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

EXPLICIT_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
ANY_SYNTAX = "*"

# Media type of a frame in a compressed transfer syntax (PS3.18 table 8.7.3-2).
_FRAME_MEDIA_TYPES = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
}


def frame_media_type(transfer_syntax: str) -> str:
    """The media type of one frame stored in `transfer_syntax` (native: octet-stream)."""
    return _FRAME_MEDIA_TYPES.get(transfer_syntax, "application/octet-stream")


def wants_stored_syntax(accept: str) -> bool:
    """True when the Accept header asks for any transfer syntax (`transfer-syntax=*`):
    the archive then answers in the stored syntax, otherwise in explicit little endian."""
    for item in accept.split(","):
        for param in item.split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "transfer-syntax" and value.strip().strip('"') == ANY_SYNTAX:
                return True
    return False


@dataclass(frozen=True)
class Rendering:
    """How to render a frame: which one (1-based), the window (centre, width) or the
    instance's default, PNG or JPEG."""

    frame: int = 1
    window: tuple[float, float] | None = None
    media_type: str = "image/png"


@dataclass
class Streamed:
    """One answer on its way: the body's chunks, released by `close` when done."""

    media_type: str
    chunks: Iterable[bytes]
    close: Callable[[], None] = lambda: None
    headers: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.chunks
        finally:
            self.close()


def multipart(parts: Iterable[tuple[str, bytes]], part_type: str, params: str = "") -> Streamed:
    """A multipart/related body of (part media type, bytes) parts, generated lazily."""
    boundary = uuid.uuid4().hex

    def chunks() -> Iterator[bytes]:
        for media_type, data in parts:
            yield f"--{boundary}\r\nContent-Type: {media_type}\r\n\r\n".encode()
            yield data
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    return Streamed(
        media_type=f'multipart/related; type="{part_type}{params}"; boundary={boundary}',
        chunks=chunks(),
    )


def boundary_of(content_type: str) -> str | None:
    """The boundary parameter of a multipart Content-Type."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary":
            return value.strip().strip('"')
    return None


def drop_part_headers(
    chunks: Iterable[bytes], boundary: str, drop: Iterable[str]
) -> Iterator[bytes]:
    """The multipart body with the part headers named in `drop` removed, streamed.

    Bodies pass through untouched (only the bytes that may start a delimiter are held
    back); each part's header block is read to its blank line and filtered."""
    delim = b"\r\n--" + boundary.encode("latin-1")
    names = {d.lower().encode() + b":" for d in drop}
    buf = b"\r\n"  # the first delimiter has no CRLF before it: pretend it has
    in_headers = False
    first = True

    def out(data: bytes) -> bytes:
        nonlocal first
        if first:
            first = False
            return data[2:]
        return data

    for chunk in chunks:
        buf += chunk
        while True:
            if in_headers:
                end = buf.find(b"\r\n\r\n")
                if end < 0 and not buf.startswith(b"--"):
                    break
                if buf.startswith(b"--"):  # the closing delimiter: the rest is epilogue
                    in_headers = False
                    yield buf
                    buf = b""
                    break
                lines = buf[:end].split(b"\r\n")
                kept = [ln for ln in lines if not any(ln.lower().startswith(n) for n in names)]
                yield b"\r\n".join(kept) + b"\r\n\r\n"
                buf = buf[end + 4 :]
                in_headers = False
                continue
            at = buf.find(delim)
            if at < 0:
                keep = len(delim) - 1
                if len(buf) > keep:
                    yield out(buf[:-keep])
                    buf = buf[-keep:]
                break
            yield out(buf[: at + len(delim)])
            buf = buf[at + len(delim) :]
            in_headers = True
    if buf:
        yield out(buf)
