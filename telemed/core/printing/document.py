"""A printed document, independent of its language's layout, and the PDF response."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.responses import Response


@dataclass(frozen=True)
class Section:
    """A heading and its paragraphs; `small` for the fine print (signatures, codes); `image`
    a PNG printed under the paragraphs (a drawn signature), in the horizontal layouts."""

    heading: str
    paragraphs: list[str]
    small: bool = False
    image: bytes | None = None


@dataclass(frozen=True)
class Printed:
    """What a document says: title, a line under it, label/value rows, sections."""

    title: str
    subtitle: str
    rows: list[tuple[str, str]]
    sections: list[Section] = field(default_factory=list)
    author: str = ""


def pdf_response(body: bytes, filename: str) -> Response:
    """A PDF shown inline, never cached (it carries patient data)."""
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
