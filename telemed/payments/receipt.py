"""The receipt of a paid order (缴费凭证) as a PDF, in zh-CN (default), English or Mongolian
script, through the shared printing machinery (docs/payments.md, Receipt)."""

from __future__ import annotations

from sqlmodel import Session

from telemed.core.errors import Conflict
from telemed.core.printing import Printed, Section, render
from telemed.core.printing.common import patient_line, texts, when
from telemed.identity.models import Patient
from telemed.network.models import Institution
from telemed.payments.models import PaymentOrder

__all__ = ["RECEIPT", "RECEIPT_STATES", "render_receipt", "yuan"]

# An order has been paid in these states (a refund does not unmake the payment).
RECEIPT_STATES = ("paid", "refunding", "refund_failed", "refunded")

RECEIPT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "缴费凭证",
        "subtitle": "远程医疗服务 · 移动支付",
        "hospital": "医院",
        "service": "服务项目",
        "date": "开单日期",
        "total": "费用合计",
        "insurance": "医保支付",
        "own": "个人自付",
        "provider": "支付方式",
        "provider_txn": "支付交易号",
        "paid_at": "支付时间",
        "order_no": "订单号",
        "refunded": "已退款",
        "note": "说明",
        "note_text": "本凭证为移动支付的缴费记录，不作为医保报销凭据。",
        "wechat": "微信支付",
        "alipay": "支付宝",
        "sandbox": "测试支付（开发环境）",
    },
    "en": {
        "title": "Payment receipt",
        "subtitle": "Telemedicine service · mobile payment",
        "hospital": "Hospital",
        "service": "Service",
        "date": "Ordered",
        "total": "Total",
        "insurance": "Insurance share",
        "own": "Own share",
        "provider": "Paid with",
        "provider_txn": "Transaction no.",
        "paid_at": "Paid",
        "order_no": "Order no.",
        "refunded": "Refunded",
        "note": "Note",
        "note_text": "A record of a mobile payment; not a receipt for insurance claims.",
        "wechat": "WeChat Pay",
        "alipay": "Alipay",
        "sandbox": "Sandbox (development)",
    },
}


def yuan(cents: int) -> str:
    """An amount in fen written as yuan: ¥12.50."""
    return f"¥{cents // 100}.{cents % 100:02d}"


def render_receipt(*, session: Session, order: PaymentOrder, lang: str) -> bytes:
    """The PDF receipt of a paid order; 409 `not_paid` before it is paid."""
    if order.state not in RECEIPT_STATES or order.paid_at is None:
        raise Conflict("the order is not paid", code="not_paid", current_state=order.state)
    t = texts(RECEIPT, lang)
    institution = session.get(Institution, order.institution_id)
    patient = session.get(Patient, order.patient_id)
    hospital = institution.name_zh if institution else t["none"]
    rows = [
        (t["hospital"], hospital),
        (t["patient"], patient_line(patient, t, lang) if patient else t["none"]),
        (t["resident_id"], (patient.resident_id_masked if patient else None) or t["none"]),
        (t["service"], order.description),
        (t["date"], when(order.created_at, t)),
        (t["total"], yuan(order.total_cents)),
        (t["insurance"], yuan(order.insurance_cents)),
        (t["own"], yuan(order.own_cents)),
        (t["provider"], t.get(order.provider or "", order.provider or t["none"])),
        (t["provider_txn"], order.provider_txn or t["none"]),
        (t["paid_at"], when(order.paid_at, t)),
        (t["order_no"], order.order_no),
    ]
    if order.refunded_cents:
        rows.append((t["refunded"], yuan(order.refunded_cents)))
    doc = Printed(
        title=t["title"],
        subtitle=t["subtitle"],
        rows=rows,
        sections=[Section(t["note"], [t["note_text"]], small=True)],
        author=hospital,
    )
    return render(doc, lang)
