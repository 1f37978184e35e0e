"""Which layout a language is printed in."""

from __future__ import annotations

from telemed.core.printing import horizontal, vertical
from telemed.core.printing.document import Printed


def render(doc: Printed, lang: str) -> bytes:
    """The document as an A4 PDF: vertical Mongolian columns for mn-Mong, else horizontal."""
    return vertical.render(doc) if lang == "mn-Mong" else horizontal.render(doc)
