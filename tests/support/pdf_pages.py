"""Printed PDFs rendered to pixels with poppler's pdftoppm (the Debian package poppler-utils),
to check what a reader sees rather than what the PDF claims."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def pages(pdf: bytes, dpi: int = 100) -> list[np.ndarray]:
    """Every page of `pdf` as a greyscale array (0 black … 255 white)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-gray", "-png", "-forcenum", str(path), f"{tmp}/page"],
            capture_output=True,
            check=True,
            timeout=60,
        )
        return [np.asarray(Image.open(p).convert("L")) for p in sorted(Path(tmp).glob("page*.png"))]


def ink(page: np.ndarray) -> np.ndarray:
    """The inked pixels of a page."""
    return page < 128


def box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the inked pixels."""
    rows, cols = np.nonzero(mask)
    assert rows.size, "nothing is drawn"
    return int(rows.min()), int(cols.min()), int(np.ptp(rows)) + 1, int(np.ptp(cols)) + 1
