"""Fonts of printed documents: Chinese by the built-in CID font STSong-Light (no file
shipped), Mongolian by Noto Sans Mongolian (OFL, `fonts/`), embedded and shaped by HarfBuzz."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

CJK = "STSong-Light"
MONGOLIAN = "NotoSansMongolian"
MONGOLIAN_FILE = Path(__file__).parent / "fonts" / "NotoSansMongolian-Regular.ttf"


@cache
def register() -> None:
    """Register both fonts once; the Mongolian one shapable (reportlab calls HarfBuzz and
    draws the glyphs it chooses by id)."""
    pdfmetrics.registerFont(UnicodeCIDFont(CJK))
    mongolian = TTFont(MONGOLIAN, str(MONGOLIAN_FILE), shapable=True)
    if not mongolian.shapable:  # unshaped Mongolian is unreadable: refuse, never print it
        raise RuntimeError("uharfbuzz is needed to print Mongolian (pip install uharfbuzz)")
    pdfmetrics.registerFont(mongolian)
