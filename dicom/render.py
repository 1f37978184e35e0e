"""Rendering of one frame to PNG/JPEG with a window (centre/width), for the embedded archive."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import pixel_array


def _first(value: object) -> float | None:
    """The first value of a possibly multi-valued number (WindowCenter may hold several)."""
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if not value:
            return None
        value = value[0]
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def render_frame(
    ds: Dataset,
    *,
    frame: int = 1,
    window: tuple[float, float] | None = None,
    media_type: str = "image/png",
    quality: int = 90,
) -> bytes:
    """Frame `frame` (1-based) of `ds` windowed to 8 bits, encoded as PNG or JPEG."""
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    if not 1 <= frame <= frames:
        raise IndexError(f"frame {frame} out of 1..{frames}")
    # only the wanted frame is decoded: a slide level holds hundreds of JPEG tiles
    arr = pixel_array(ds, index=frame - 1) if frames > 1 else ds.pixel_array
    if samples == 1:
        data = arr.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1) or 1) + float(
            getattr(ds, "RescaleIntercept", 0) or 0
        )
        if window is None:
            c, w = (
                _first(getattr(ds, "WindowCenter", None)),
                _first(getattr(ds, "WindowWidth", None)),
            )
            window = (c, w) if c is not None and w else None
        if window is None:
            lo, hi = float(data.min()), float(data.max())
        else:
            c, w = window
            lo, hi = c - w / 2.0, c + w / 2.0
        scaled = np.clip((data - lo) / max(hi - lo, 1e-6), 0.0, 1.0) * 255.0
        if str(getattr(ds, "PhotometricInterpretation", "")) == "MONOCHROME1":
            scaled = 255.0 - scaled
        img = Image.fromarray(scaled.astype(np.uint8), mode="L")
    else:
        img = Image.fromarray(arr.astype(np.uint8), mode="RGB")
    buf = BytesIO()
    if media_type == "image/jpeg":
        img.save(buf, format="JPEG", quality=quality)
    else:
        img.save(buf, format="PNG")
    return buf.getvalue()
