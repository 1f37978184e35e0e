"""Vertical Mongolian layout (mn-Mong): each column runs top to bottom, columns left to
right, as printed Mongolian is read (W3C "Requirements for Mongolian Layout").

reportlab does not lay text out vertically, and shapes only through HarfBuzz: a Mongolian run
is shaped horizontally (contextual forms, the variation selectors FVS1-3 and MVS, the NNBSP
before suffixes) by reportlab's shapable TTFont, which draws HarfBuzz's glyphs by id, and the
run is turned 90° clockwise. Latin letters and digits turn with the line, as Mongolian
typesetting does; Chinese characters (names, hospitals) stand upright, one per em; full-width
punctuation turns with the line.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Literal

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import shapeStr
from reportlab.pdfgen.canvas import Canvas

from telemed.core.printing.document import Printed
from telemed.core.printing.fonts import CJK, MONGOLIAN, register

Kind = Literal["mongolian", "upright", "turned"]

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 16 * mm
COLUMN_HEIGHT = PAGE_HEIGHT - 2 * MARGIN
LEADING = 1.75  # column width in ems
TITLE, HEADING, BODY, SMALL = 17.0, 12.0, 10.5, 8.0
COLON = "\u1804"  # Mongolian colon
# Where a turned line's ink is centred, in ems right of its baseline (measured on the fonts).
_INK_CENTRE: dict[Kind, float] = {"mongolian": 0.31, "turned": 0.35, "upright": 0.0}
# reportlab assigns private code points to HarfBuzz's glyphs on the shared font object.
_SHAPING = threading.Lock()
# Where lines may break: not at the NNBSP before a suffix (str.split would break there).
_SPACES = re.compile(r"[ \t\r\n\u3000]+")


def kind_of(char: str) -> Kind:
    """How a character is set in a Mongolian column."""
    o = ord(char)
    if 0x1800 <= o <= 0x18AF or 0x11660 <= o <= 0x1167F or o in (0x202F, 0x200C, 0x200D):
        return "mongolian"
    if 0x2E80 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF:  # full-width punctuation turns
        return "upright"
    return "turned"


def shaped(text: str, size: float) -> str:
    """A Mongolian run as HarfBuzz shapes it (a reportlab ShapedStr of glyph code points)."""
    with _SHAPING:
        return shapeStr(text, MONGOLIAN, size, force=True)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Piece:
    """An unbreakable piece of a line: its text, extent down the column, space before it."""

    kind: Kind
    text: str
    length: float
    gap: float = 0.0


def _split(kind: Kind, run: str, size: float) -> Iterator[Piece]:
    if kind == "upright":
        yield from (Piece(kind, ch, size) for ch in run)
    elif kind == "mongolian":
        glyphs = shaped(run, size)
        data = getattr(glyphs, "__shapeData__", None)  # None: HarfBuzz left the run as it was
        length = (
            sum(d.x_advance for d in data) * size / 1000
            if data
            else stringWidth(glyphs, MONGOLIAN, size)
        )
        yield Piece(kind, glyphs, length)
    else:  # codes longer than a column are cut where they must be
        start = 0
        for end in range(1, len(run) + 1):
            if stringWidth(run[start : end + 1], CJK, size) > COLUMN_HEIGHT or end == len(run):
                yield Piece(kind, run[start:end], stringWidth(run[start:end], CJK, size))
                start = end


def pieces(text: str, size: float) -> list[Piece]:
    """`text` cut where a column may break: at spaces, between Chinese characters."""
    space = stringWidth(" ", CJK, size)
    out: list[Piece] = []
    for i, word in enumerate(_SPACES.split(text.strip())):
        gap = space if i else 0.0
        for kind, chars in groupby(word, key=kind_of):
            for piece in _split(kind, "".join(chars), size):
                out.append(Piece(piece.kind, piece.text, piece.length, gap))
                gap = 0.0
    return out


@dataclass
class Column:
    """One column: its font size and the pieces with their offsets from its top."""

    size: float
    placed: list[tuple[float, Piece]] = field(default_factory=list)

    @property
    def width(self) -> float:
        return self.size * LEADING

    @property
    def length(self) -> float:
        return max((y + p.length for y, p in self.placed), default=0.0)


def columns(text: str, size: float) -> list[Column]:
    """`text` filled into columns of the page's height."""
    out = [Column(size)]
    y = 0.0
    for piece in pieces(text, size):
        gap = piece.gap if out[-1].placed else 0.0
        if out[-1].placed and y + gap + piece.length > COLUMN_HEIGHT:
            out.append(Column(size))
            y, gap = 0.0, 0.0
        out[-1].placed.append((y + gap, piece))
        y += gap + piece.length
    return out


def _draw(c: Canvas, column: Column, left: float, centred: bool) -> None:
    size, centre = column.size, left + column.width / 2
    top = PAGE_HEIGHT - MARGIN - ((COLUMN_HEIGHT - column.length) / 2 if centred else 0.0)
    for y, piece in column.placed:
        if piece.kind == "upright":
            c.setFont(CJK, size)
            c.drawString(centre - size / 2, top - y - 0.88 * size, piece.text)
            continue
        c.saveState()
        c.translate(centre - _INK_CENTRE[piece.kind] * size, top - y)
        c.rotate(-90)
        c.setFont(MONGOLIAN if piece.kind == "mongolian" else CJK, size)
        c.drawString(0, 0, piece.text)
        c.restoreState()


def paragraphs(doc: Printed) -> Iterator[tuple[str, float]]:
    """The document's paragraphs in reading order with their sizes."""
    yield doc.title, TITLE
    yield doc.subtitle, SMALL
    for label, value in doc.rows:
        yield f"{label}{COLON} {value}", BODY
    for section in doc.sections:
        yield section.heading, HEADING
        for text in section.paragraphs:
            for line in text.splitlines() or [""]:
                yield line, SMALL if section.small else BODY


def render(doc: Printed) -> bytes:
    """`doc` as A4 pages of vertical Mongolian columns, the font embedded."""
    register()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    c.setTitle(doc.title)
    c.setAuthor(doc.author)
    x = MARGIN
    for text, size in paragraphs(doc):
        for column in columns(text, size):
            if x + column.width > PAGE_WIDTH - MARGIN:
                c.showPage()
                x = MARGIN
            _draw(c, column, x, centred=size == TITLE)
            x += column.width
        x += size * 0.25
    c.save()
    return buf.getvalue()
