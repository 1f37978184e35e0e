"""Printed documents for the patient (PDF) in zh-CN, English or Mongolian script.

A domain describes its document as a `Printed` (title, label/value rows, sections) with texts
from its own catalogue; `render` lays it out horizontally (zh-CN, en: reportlab platypus) or
in vertical Mongolian columns (mn-Mong: shaped by HarfBuzz, `vertical`).
"""

from telemed.core.printing.document import Printed, Section, pdf_response
from telemed.core.printing.languages import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    LangQuery,
    Language,
    choose_language,
    localize,
)
from telemed.core.printing.rendering import render

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LangQuery",
    "Language",
    "Printed",
    "Section",
    "choose_language",
    "localize",
    "pdf_response",
    "render",
]
