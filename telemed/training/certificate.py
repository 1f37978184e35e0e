"""The certificate of continuing-education credit (继续医学教育学分证明) as a PDF, in zh-CN
(default), English or Mongolian script, through the shared printing machinery."""

from __future__ import annotations

from telemed.core.printing import Printed, Section, render
from telemed.core.printing.common import texts, when
from telemed.identity.models import User
from telemed.network.models import Institution
from telemed.training.attendance import duration_seconds
from telemed.training.models import Course, Enrolment

CERTIFICATE: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "继续医学教育学分证明",
        "subtitle": "远程培训 · Ⅱ类学分",
        "doctor": "学员",
        "institution": "学员单位",
        "course": "课程",
        "speaker": "主讲人",
        "held": "授课时间",
        "hours": "学时",
        "hours_value": "{hours} 小时",
        "credits": "学分",
        "credits_value": "{credits} 分（Ⅱ类）",
        "issuer": "发证单位",
        "granted": "授予时间",
        "rule": "授予规则",
        "rule_text": "直播出席或观看回放达到课程时长的 80% 及以上。",
    },
    "en": {
        "title": "Certificate of continuing medical education credit",
        "subtitle": "Remote training · class II credit",
        "doctor": "Doctor",
        "institution": "Doctor's institution",
        "course": "Course",
        "speaker": "Speaker",
        "held": "Held",
        "hours": "Hours",
        "hours_value": "{hours} h",
        "credits": "Credits",
        "credits_value": "{credits} (class II)",
        "issuer": "Issued by",
        "granted": "Granted",
        "rule": "Rule",
        "rule_text": "At least 80 % of the lecture attended live or watched.",
    },
}


def _number(value: float) -> str:
    return f"{value:g}"


def render_certificate(
    *,
    course: Course,
    enrolment: Enrolment,
    doctor: User,
    doctor_institution: Institution | None,
    speaker: User | None,
    issuer: Institution | None,
    lang: str,
) -> bytes:
    """The PDF certificate of a granted credit."""
    t = texts(CERTIFICATE, lang)
    hours = round(duration_seconds(course) / 3600, 2)
    doc = Printed(
        title=t["title"],
        subtitle=t["subtitle"],
        rows=[
            (t["doctor"], doctor.full_name),
            (t["institution"], doctor_institution.name_zh if doctor_institution else t["none"]),
            (t["course"], course.title),
            (t["speaker"], speaker.full_name if speaker else t["none"]),
            (t["held"], f"{when(course.starts_at, t)} – {when(course.ends_at, t)}"),
            (t["hours"], t["hours_value"].format(hours=_number(hours))),
            (t["credits"], t["credits_value"].format(credits=_number(course.credits))),
            (t["issuer"], issuer.name_zh if issuer else t["none"]),
            (t["granted"], when(enrolment.credited_at, t)),
        ],
        sections=[Section(t["rule"], [t["rule_text"]], small=True)],
        author=issuer.name_zh if issuer else "",
    )
    return render(doc, lang)
