"""Alipay's trade bill (对账单, bill_type `trade`): a zip of GBK CSV files, read into
`BillLine`s; the fake gateway writes the same shape (docs/payments.md, "Alipay").

The zip holds a detail file (`…_业务明细.csv`) and a summary (`…_业务明细(汇总).csv`).
The detail file opens with `#` comment lines (title, account, period, a dashed line), then
a header row and one row per trade or refund, then `#` footer lines (totals, export time).
Cells carry padding tabs (kept by Alipay so spreadsheets do not reformat long numbers).
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

from telemed.core.clock import SHANGHAI
from telemed.payments.alipay_sign import cents_from_yuan
from telemed.payments.provider import BillLine

__all__ = ["DETAIL_COLUMNS", "DETAIL_SUFFIX", "SUMMARY_SUFFIX", "parse_bill_zip"]

DETAIL_SUFFIX = "业务明细.csv"
SUMMARY_SUFFIX = "业务明细(汇总).csv"
DETAIL_COLUMNS = (
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
)
# 业务类型 of a payment and of a refund
_KINDS = {"交易": "paid", "退款": "refund"}


def _member_name(info: zipfile.ZipInfo) -> str:
    # Alipay's zips name their members in GBK without the UTF-8 flag; zipfile then reads
    # the bytes as cp437.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _detail_text(data: bytes) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ValueError("the bill is not a zip") from exc
    with archive:
        for info in archive.infolist():
            name = _member_name(info)
            if name.endswith(DETAIL_SUFFIX) and not name.endswith(SUMMARY_SUFFIX):
                return archive.read(info).decode("gbk")
    raise ValueError("the bill zip holds no detail file (…业务明细.csv)")


def _time(value: str) -> datetime:
    local = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    return local.astimezone(UTC)


def parse_bill_zip(data: bytes) -> list[BillLine]:
    """The payments and refunds of a trade bill zip (raises ValueError when malformed)."""
    rows = [
        [cell.strip() for cell in row]
        for row in csv.reader(io.StringIO(_detail_text(data)))
        if row and not row[0].startswith("#")
    ]
    if not rows:
        raise ValueError("the bill's detail file has no header row")
    header, *body = rows
    missing = {"支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额（元）"} - set(header)
    if missing:
        raise ValueError(f"the bill's header lacks {', '.join(sorted(missing))}")
    column = {name: i for i, name in enumerate(header)}
    lines = []
    for row in body:
        kind = _KINDS.get(row[column["业务类型"]])
        if kind is None:
            continue  # other business types (e.g. 收费) are not orders of ours
        refund_col = column.get("退款批次号/请求号")
        lines.append(
            BillLine(
                order_no=row[column["商户订单号"]],
                kind="paid" if kind == "paid" else "refund",
                amount_cents=abs(cents_from_yuan(row[column["订单金额（元）"]])),
                at=_time(row[column["完成时间"]]),
                provider_txn=row[column["支付宝交易号"]] or None,
                refund_no=(row[refund_col] or None) if kind == "refund" and refund_col else None,
            )
        )
    return lines
