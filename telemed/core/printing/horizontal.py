"""Horizontal layout (zh-CN, en): a title, a two-pair-per-row table, sections (platypus)."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import (
    Flowable,
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from telemed.core.printing.document import Printed
from telemed.core.printing.fonts import CJK, register

_BODY = ParagraphStyle("body", fontName=CJK, fontSize=10.5, leading=16, wordWrap="CJK")
_HEAD = ParagraphStyle("head", parent=_BODY, fontSize=17, leading=24, alignment=1)
_SECTION = ParagraphStyle("section", parent=_BODY, fontSize=12, leading=20, spaceBefore=6)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=11)


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _table(rows: list[tuple[str, str]]) -> Table:
    pairs = [rows[i : i + 2] for i in range(0, len(rows), 2)]
    cells = [[_p(x) for pair in row for x in pair] + [_p("")] * (4 - 2 * len(row)) for row in pairs]
    table = Table(cells, colWidths=[22 * mm, 62 * mm, 22 * mm, 68 * mm])
    table.setStyle(
        TableStyle(
            [("GRID", (0, 0), (-1, -1), 0.4, "#888888"), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )
    return table


def _image(png: bytes, most_width: float = 70 * mm, most_height: float = 25 * mm) -> Image:
    """A PNG scaled to fit `most_width`×`most_height`, keeping its proportions."""
    width, height = ImageReader(io.BytesIO(png)).getSize()
    scale = min(most_width / width, most_height / height)
    return Image(io.BytesIO(png), width=width * scale, height=height * scale, hAlign="LEFT")


def render(doc: Printed) -> bytes:
    """`doc` as A4 pages, CJK and Latin text in STSong-Light."""
    register()
    buf = io.BytesIO()
    pages = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=doc.title,
        author=doc.author,
    )
    story: list[Flowable] = [
        _p(doc.title, _HEAD),
        _p(doc.subtitle, _SMALL),
        Spacer(1, 4 * mm),
        _table(doc.rows),
    ]
    for section in doc.sections:
        if section.small:
            story.append(Spacer(1, 6 * mm))
        story.append(_p(section.heading, _SECTION))
        story += [_p(text, _SMALL if section.small else _BODY) for text in section.paragraphs]
        if section.image:
            story.append(_image(section.image))
    pages.build(story)
    return buf.getvalue()
