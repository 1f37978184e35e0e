"""Printable PDF of a signed opinion (会诊意见书), Chinese rendered with the built-in
CID font STSong-Light, so no font file ships with the application."""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from telemed.consultations.models import Consultation, Opinion, SpecialistKey
from telemed.consultations.service_classes import info
from telemed.core.clock import to_shanghai
from telemed.identity.models import TITLE_NAMES, Patient, Title, User
from telemed.network.models import Institution

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BODY = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=16, wordWrap="CJK")
_HEAD = ParagraphStyle("head", parent=_BODY, fontSize=17, leading=24, alignment=1)
_SECTION = ParagraphStyle("section", parent=_BODY, fontSize=12, leading=20, spaceBefore=6)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=11)


def _t(value: datetime | None) -> str:
    return to_shanghai(value).strftime("%Y-%m-%d %H:%M (北京时间)") if value else "—"


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _doctor(u: User | None) -> str:
    if u is None:
        return "—"
    title = TITLE_NAMES.get(Title(u.title), "") if u.title else ""
    return f"{u.full_name} {title}".strip()


def render(
    *,
    consultation: Consultation,
    opinion: Opinion,
    key: SpecialistKey,
    patient: Patient,
    requester: User,
    author: User,
    requesting: Institution,
    receiving: Institution | None,
) -> bytes:
    """The signed opinion as a one- or two-page A4 PDF."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title="远程会诊意见书",
        author=author.full_name,
    )
    c = consultation
    sex = {"male": "男", "female": "女"}.get(patient.sex, patient.sex)
    rows = [
        [
            "会诊类型",
            info(c.service_class).name_zh,
            "紧急程度",
            {"emergency": "急诊", "urgent": "加急", "routine": "常规"}[c.urgency],
        ],
        ["患者", f"{patient.name}（{sex}）", "身份证号", patient.resident_id_masked],
        ["申请医院", requesting.name_zh, "申请医生", _doctor(requester)],
        ["会诊医院", receiving.name_zh if receiving else "—", "会诊专家", _doctor(author)],
        ["申请时间", _t(c.submitted_at), "签发时间", _t(opinion.signed_at)],
    ]
    table = Table(
        [[_p(x) for x in r] for r in rows], colWidths=[22 * mm, 62 * mm, 22 * mm, 68 * mm]
    )
    table.setStyle(
        TableStyle(
            [("GRID", (0, 0), (-1, -1), 0.4, "#888888"), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )
    advice = opinion.referral_advice or {}
    story = [
        _p("远程会诊意见书", _HEAD),
        _p(f"编号 {c.id}　第 {opinion.version} 版", _SMALL),
        Spacer(1, 4 * mm),
        table,
        _p("会诊问题", _SECTION),
        _p(c.question),
        _p("所见", _SECTION),
        _p(opinion.findings),
        _p("诊断意见", _SECTION),
        _p(
            opinion.impression
            + (f"（ICD-10：{'，'.join(opinion.icd10)}）" if opinion.icd10 else "")
        ),
        _p("建议", _SECTION),
        _p(opinion.recommendations or "—"),
        _p("转诊建议", _SECTION),
        _p(
            (
                "建议转诊"
                + (f"：{advice.get('specialty')}" if advice.get("specialty") else "")
                + (f"。{advice.get('note')}" if advice.get("note") else "")
            )
            if advice.get("refer")
            else "暂不需要转诊"
        ),
    ]
    if opinion.correction_reason:
        story += [_p("更正说明", _SECTION), _p(opinion.correction_reason)]
    story += [
        Spacer(1, 6 * mm),
        _p("电子签名（Ed25519）", _SECTION),
        _p(f"签名人：{_doctor(author)}　密钥编号：{key.id}", _SMALL),
        _p(f"公钥指纹（SHA-256）：{key.fingerprint}", _SMALL),
        _p(f"签名：{opinion.signature}", _SMALL),
        _p(
            f"验证：GET /api/v1/consultations/{c.id}/opinion/verify?version={opinion.version}",
            _SMALL,
        ),
    ]
    doc.build(story)
    return buf.getvalue()
