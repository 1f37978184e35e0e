"""What the fake Alipay gateway shows and serves besides JSON: the phone-sized cashier
(收银台), its result and error pages, and the trade bill zip (GBK CSV). Development only."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from html import escape

from telemed.payments.alipay_bill import DETAIL_COLUMNS, DETAIL_SUFFIX, SUMMARY_SUFFIX
from telemed.payments.alipay_sign import cents_from_yuan, yuan

__all__ = ["bill_zip", "cashier_page", "error_page", "result_page"]

_STYLE = """
body{margin:0;font-family:-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;
background:#f5f5f5;color:#333}
header{background:#1677ff;color:#fff;padding:14px 16px;font-size:18px}
main{max-width:420px;margin:0 auto;padding:16px}
.card{background:#fff;border-radius:8px;padding:20px 16px;text-align:center}
.amount{font-size:36px;font-weight:600;margin:8px 0}
.subject{color:#666;word-break:break-all}
button{display:block;width:100%;margin-top:14px;padding:14px;border:0;border-radius:6px;
font-size:17px}
.pay{background:#1677ff;color:#fff}.cancel{background:#fff;color:#1677ff;border:1px solid #1677ff}
.note{color:#999;font-size:12px;margin-top:16px;text-align:center}
"""


def _page(title: str, content: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><header>支付宝 · {escape(title)}</header><main>{content}"
        '<p class="note">本地模拟支付宝（开发与测试用），不会产生真实扣款</p></main></body></html>'
    )


def cashier_page(*, trade_no: str, subject: str, amount: str) -> str:
    """The cashier: amount, subject, 确认付款 / 取消 (each a form POST)."""
    base = f"/cashier/{escape(trade_no)}"
    return _page(
        "收银台",
        f'<div class="card"><div class="subject" data-testid="alipay-subject">{escape(subject)}'
        f'</div><div class="amount" data-testid="alipay-amount">¥{escape(amount)}</div>'
        f'<form method="post" action="{base}/pay"><button class="pay" type="submit">确认付款'
        f'</button></form><form method="post" action="{base}/cancel">'
        '<button class="cancel" type="submit">取消</button></form></div>',
    )


def result_page(message: str) -> str:
    """What the payer sees after paying by QR code or cancelling."""
    return _page(
        "支付结果", f'<div class="card" data-testid="alipay-result">{escape(message)}</div>'
    )


def error_page(code: str, reason: str) -> str:
    """Alipay's browser error page for a refused wap.pay request."""
    return _page(
        "错误",
        f'<div class="card">错误代码 <b data-testid="alipay-error">{escape(code)}</b><br>'
        f"错误原因: {escape(reason)}</div>",
    )


def _cell(value: str) -> str:
    # Alipay pads cells with a tab so spreadsheets keep long numbers as text.
    return f"{value}\t"


def bill_zip(
    *, account: str, day: date, rows: Iterable[Mapping[str, str]], exported: datetime
) -> bytes:
    """The trade bill of `day` as Alipay's zip: a detail and a summary file, GBK CSV.
    `rows` map DETAIL_COLUMNS names to values (amounts negative for refunds)."""
    rows = list(rows)
    stamp = day.strftime("%Y%m%d")
    period = day.strftime("%Y年%m月%d日")
    detail = io.StringIO()
    detail.write(f"#支付宝业务明细查询\n#账号：[{account}]\n")
    detail.write(f"#起始日期：[{period} 00:00:00]   终止日期：[{period} 23:59:59]\n")
    detail.write(
        "#-----------------------------------------业务明细列表----------------------------------------\n"
    )
    writer = csv.writer(detail, lineterminator="\n")
    writer.writerow(DETAIL_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(name, "")) for name in DETAIL_COLUMNS])
    paid = [r for r in rows if r["业务类型"] == "交易"]
    refunds = [r for r in rows if r["业务类型"] == "退款"]
    detail.write(
        "#-----------------------------------------业务明细列表结束------------------------------------\n"
    )
    detail.write(f"#交易合计：{len(paid)}笔，商家实收共：{_total(paid)}元，商家优惠共：0.00元\n")
    detail.write(
        f"#退款合计：{len(refunds)}笔，商家实收退款共：{_total(refunds)}元，商家优惠退款共：0.00元\n"
    )
    detail.write(f"#导出时间：[{exported.strftime('%Y年%m月%d日 %H:%M:%S')}]\n")
    summary = io.StringIO()
    summary.write(f"#支付宝业务汇总查询\n#账号：[{account}]\n")
    csv.writer(summary, lineterminator="\n").writerows(
        [["门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）"]]
        + [["", "", str(len(paid)), str(len(refunds)), _total(rows)]]
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{account}_{stamp}_{DETAIL_SUFFIX}", detail.getvalue().encode("gbk"))
        archive.writestr(f"{account}_{stamp}_{SUMMARY_SUFFIX}", summary.getvalue().encode("gbk"))
    return out.getvalue()


def _total(rows: Iterable[Mapping[str, str]]) -> str:
    cents = sum(cents_from_yuan(r["订单金额（元）"]) for r in rows)
    return ("-" if cents < 0 else "") + yuan(abs(cents))
