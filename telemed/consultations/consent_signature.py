"""The patient's signature drawn on the screen (屏幕手写签名) for informed consent: a PNG the
browser's canvas makes, checked here before it is stored with the consent.

Accepted: base64 (optionally as a `data:image/png;base64,` URL) of at most `MAX_BYTES` bytes
that Pillow reads as a PNG of `MIN_SIZE`..`MAX_SIZE` pixels; anything else is 422
`invalid_signature` on the field `signature_png`."""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

from telemed.core.errors import Invalid

__all__ = ["MAX_BYTES", "MAX_SIZE", "MIN_SIZE", "InvalidSignature", "checked_png"]

MAX_BYTES = 256 * 1024
MIN_SIZE = (100, 40)  # width, height in pixels
MAX_SIZE = (4000, 2000)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL = "data:image/png;base64,"
FIELD = "signature_png"


class InvalidSignature(Invalid):
    code = "invalid_signature"


def _refuse(why: str) -> InvalidSignature:
    return InvalidSignature(f"the signature is not usable: {why}", field=FIELD)


def checked_png(text: str) -> bytes:
    """The PNG bytes of a drawn signature sent as base64, or 422 `invalid_signature`."""
    data = text.strip()
    if data.startswith(DATA_URL):
        data = data[len(DATA_URL) :]
    if len(data) > (MAX_BYTES * 4) // 3 + 4:
        raise _refuse(f"larger than {MAX_BYTES // 1024} KiB")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse("not base64") from None
    if len(raw) > MAX_BYTES:
        raise _refuse(f"larger than {MAX_BYTES // 1024} KiB")
    if not raw.startswith(PNG_MAGIC):
        raise _refuse("not a PNG")
    try:
        with Image.open(io.BytesIO(raw)) as img:
            if img.format != "PNG":
                raise _refuse("not a PNG")
            width, height = img.size
            if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
                raise _refuse(
                    f"{width}×{height} pixels; {MIN_SIZE[0]}×{MIN_SIZE[1]} to "
                    f"{MAX_SIZE[0]}×{MAX_SIZE[1]} expected"
                )
            img.load()  # decodes every chunk: a truncated or corrupt file fails here
    except InvalidSignature:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _refuse("the PNG cannot be read") from None
    return raw
