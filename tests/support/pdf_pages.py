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


def embedded_fonts(pdf: bytes) -> str:
    """pdffonts' table of the fonts of `pdf`."""
    return subprocess.run(
        ["pdffonts", "-"], input=pdf, capture_output=True, check=True, timeout=60
    ).stdout.decode()


def assert_vertical_mongolian(pdf: bytes) -> None:
    """The first page is set in Mongolian columns from the left, the font embedded."""
    fonts = embedded_fonts(pdf)
    assert "NotoSansMongolian" in fonts
    line = next(x for x in fonts.splitlines() if "NotoSansMongolian" in x)
    assert " yes " in line  # embedded (a subset), not left to the reader's machine
    first = pages(pdf)[0]
    drawn = ink(first)
    _, left, _, _ = box(drawn)
    assert left < first.shape[1] // 4  # the first column stands at the left
    title = drawn[:, : left + 40]  # the title's column: Mongolian only
    assert title.sum() > 300
    _, _, t_height, t_width = box(title)
    assert t_height > 3 * t_width
