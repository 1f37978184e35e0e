"""CSV of the utilization rows, for Excel: UTF-8 with a byte-order mark, Chinese headers,
one line per hospital, specialty and week (columns as in docs/api.md)."""

from __future__ import annotations

import csv
import io

from telemed.dashboard.schemas import UtilizationDashboard

BOM = "\ufeff"
# (header, field of UtilizationRow), in column order
COLUMNS: list[tuple[str, str]] = [
    ("周次", "week"),
    ("周一日期", "week_start"),
    ("盟市代码", "league_code"),
    ("医院编码", "institution_code"),
    ("医院", "institution_name_zh"),
    ("医院级别", "tier"),
    ("专科代码", "specialty_code"),
    ("科室", "specialty_name_zh"),
    ("放号数", "offered"),
    ("预约数", "booked"),
    ("就诊数", "used"),
    ("爽约数", "noshows"),
    ("预约率", "booked_share"),
    ("会诊接收数", "consultations_accepted"),
    ("会诊拒绝数", "consultations_declined"),
    ("会诊转派数", "consultations_redirected"),
    ("接收用时中位数(分钟)", "median_accept_minutes"),
    ("报告用时中位数(分钟)", "median_report_minutes"),
    ("上转接收数", "referrals_up"),
    ("下转接收数", "referrals_down"),
    ("转诊完成数", "referrals_completed"),
    ("转诊闭环数", "referrals_closed"),
    ("闭环率", "closure_rate"),
]


def utilization_csv(board: UtilizationDashboard) -> str:
    """The rows as CSV text (BOM first, CRLF line ends); empty cells for no value."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([h for h, _ in COLUMNS])
    for row in board.rows:
        values = [getattr(row, f) for _, f in COLUMNS]
        writer.writerow(["" if v is None else v for v in values])
    return out.getvalue()


def filename(board: UtilizationDashboard) -> str:
    return f"utilization-{board.from_week}-{board.to_week}.csv"
