"""Printed documents: the Mongolian layout is vertical and its text really shaped, checked on
the page as poppler renders it (pdftoppm), not on what the PDF claims."""

from __future__ import annotations

import io

import numpy as np
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from telemed.core.printing import Printed, Section, choose_language, localize, render
from telemed.core.printing.fonts import MONGOLIAN, MONGOLIAN_FILE
from telemed.core.printing.vertical import columns, kind_of, pieces, shaped
from tests.support.pdf_pages import box, ink, pages

WORD = "ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ"  # mongγol bičig: every letter takes a joined, positional form
UNSHAPED = "NotoSansMongolianUnshaped"


def _one_run(text: str, font: str) -> bytes:
    """`text` drawn once in `font`, turned as a Mongolian column turns it."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    c.translate(100, 800)
    c.rotate(-90)
    c.setFont(font, 28)
    c.drawString(0, 0, text)
    c.save()
    return buf.getvalue()


def test_mongolian_is_drawn_shaped_not_as_isolated_letters() -> None:
    render(Printed("x", "", []), "mn-Mong")  # registers the shaping font
    pdfmetrics.registerFont(TTFont(UNSHAPED, str(MONGOLIAN_FILE), shapable=False))
    shaped_ink = ink(pages(_one_run(shaped(WORD, 28), MONGOLIAN))[0])
    unshaped_ink = ink(pages(_one_run(WORD, UNSHAPED))[0])
    assert shaped_ink.sum() > 500 and unshaped_ink.sum() > 500  # glyphs, not tofu or nothing
    differing = np.logical_xor(shaped_ink, unshaped_ink).sum()
    assert differing > 0.5 * shaped_ink.sum()  # contextual forms, not the nominal ones
    # joined letters make one shorter run than isolated letters set side by side
    assert box(shaped_ink)[2] < box(unshaped_ink)[2]


@pytest.mark.parametrize(
    ("marked", "plain"),
    [
        ("ᠳ᠋ᠤᠭᠠᠷ", "ᠳᠤᠭᠠᠷ"),  # FVS1 picks the other initial d
        ("ᠭᠡᠷ᠎ᠡ", "ᠭᠡᠷᠡ"),  # MVS: the final a/e stands apart
        ("ᠪᠠᠭ\u202fᠤᠨ", "ᠪᠠᠭ ᠤᠨ"),  # NNBSP: the suffix keeps its suffix form
    ],
)
def test_variation_selectors_and_the_suffix_joiner_choose_other_glyphs(
    marked: str, plain: str
) -> None:
    render(Printed("x", "", []), "mn-Mong")

    def glyphs(text: str) -> list[str]:  # as the column typesetter cuts and shapes them
        return [g for p in pieces(text, 10) for g in p.text if g not in " \u202f"]

    assert glyphs(marked) != glyphs(plain)
    assert len(pieces(marked, 10)) == 1  # a suffix after NNBSP stays on its word


def test_a_mongolian_document_is_set_in_vertical_columns_left_to_right() -> None:
    doc = Printed(
        title="ᠰᠢᠯᠵᠢᠭᠦᠯᠬᠦ ᠪᠢᠴᠢᠭ",
        subtitle="ᠳ᠋ᠤᠭᠠᠷ 42",
        rows=[("ᠥᠪᠴᠢᠲᠡᠨ", "巴特尔 ᠪᠠᠲᠦᠷ")],
        sections=[Section("ᠣᠨᠤᠰᠢ", ["I10 高血压"])],
    )
    [page] = pages(render(doc, "mn-Mong"))
    drawn = ink(page)
    top, left, height, width = box(drawn)
    assert height > width  # columns run down the page
    assert left < page.shape[1] // 4  # the first column stands at the left
    title = box(drawn[:, : left + 40])
    assert title[2] > 3 * title[3]  # the title's column is far taller than wide


def test_long_text_wraps_into_more_columns_and_chinese_stands_upright() -> None:
    cols = columns("ᠡᠮᠨᠡᠯᠭᠡ " * 80, 10.5)
    assert len(cols) > 1
    assert all(p.kind == "mongolian" for c in cols for _, p in c.placed)
    assert [kind_of(ch) for ch in "ᠮ巴1（"] == ["mongolian", "upright", "turned", "turned"]


def test_zh_and_en_documents_stay_horizontal() -> None:
    doc = Printed("远程会诊意见书", "编号 1", [("患者", "巴特尔（男）")])
    for lang in ("zh-CN", "en"):
        [page] = pages(render(doc, lang))
        _, _, height, width = box(ink(page))
        assert width > height


class _Caller:
    def __init__(self, language: str | None, patient: bool = False) -> None:
        self.language, self.patient_id = language, (1 if patient else None)


class _Patient:
    def __init__(self, preferred_language: str | None) -> None:
        self.preferred_language = preferred_language


@pytest.mark.parametrize(
    ("requested", "caller", "patient", "chosen"),
    [
        ("en", _Caller("mn-Mong", patient=True), _Patient("mn-Mong"), "en"),
        (None, _Caller("mn-Mong", patient=True), _Patient("zh-CN"), "mn-Mong"),
        (None, _Caller("en"), _Patient("mn-Mong"), "mn-Mong"),
        (None, _Caller("en"), _Patient(None), "en"),
        (None, object(), None, "zh-CN"),  # before the language column exists
    ],
)
def test_the_language_is_the_query_then_the_patients_then_the_callers(
    requested: str | None, caller: object, patient: object, chosen: str
) -> None:
    assert choose_language(requested, user=caller, patient=patient) == chosen


def test_a_missing_mongolian_text_falls_back_to_chinese_never_english() -> None:
    catalogue = {"zh-CN": {"a": "甲", "b": "乙"}, "en": {"a": "A", "b": "B"}, "mn-Mong": {"a": "ᠠ"}}
    assert localize(catalogue, "mn-Mong") == {"a": "ᠠ", "b": "乙"}
