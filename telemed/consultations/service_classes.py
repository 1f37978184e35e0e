"""The network's 11 kinds of remote service, a fixed enumeration.

Each class says whether it needs a live session (video), which attachments a
request is expected to carry, which slot service class scheduling books for it,
and its own report service levels where they differ from the urgency defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ServiceClass(StrEnum):
    CONSULTATION = "consultation"  # 远程会诊
    IMAGING_DIAGNOSIS = "imaging_diagnosis"  # 远程影像诊断
    ECG_DIAGNOSIS = "ecg_diagnosis"  # 远程心电诊断
    PATHOLOGY_DIAGNOSIS = "pathology_diagnosis"  # 远程病理诊断
    OUTPATIENT = "outpatient"  # 远程门诊
    WARD_ROUND = "ward_round"  # 远程查房
    MONITORING = "monitoring"  # 远程监护
    CASE_DISCUSSION = "case_discussion"  # 病例讨论/多学科会诊 (MDT)
    EDUCATION = "education"  # 远程教育/培训
    APPOINTMENT = "appointment"  # 远程预约
    REFERRAL = "referral"  # 双向转诊


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


URGENCY_RANK = {Urgency.EMERGENCY: 0, Urgency.URGENT: 1, Urgency.ROUTINE: 2}


@dataclass(frozen=True)
class ServiceClassInfo:
    """What a service class needs."""

    code: ServiceClass
    name_zh: str
    name_en: str
    live_session: bool
    expected_attachments: tuple[str, ...]
    slot_service_class: str  # scheduling's vocabulary
    # minutes to report per urgency, where this class differs from the urgency default
    report_minutes: dict[str, int] = field(default_factory=dict)


_H = 60
SERVICE_CLASSES: dict[ServiceClass, ServiceClassInfo] = {
    i.code: i
    for i in (
        ServiceClassInfo(
            ServiceClass.CONSULTATION,
            "远程会诊",
            "Remote consultation",
            True,
            ("dicom_study", "lab_result", "medical_record"),
            "consultation",
        ),
        ServiceClassInfo(
            ServiceClass.IMAGING_DIAGNOSIS,
            "远程影像诊断",
            "Imaging diagnosis",
            False,
            ("dicom_study",),
            "imaging_reading",
        ),
        ServiceClassInfo(
            ServiceClass.ECG_DIAGNOSIS,
            "远程心电诊断",
            "ECG diagnosis",
            False,
            ("ecg",),
            "imaging_reading",
            report_minutes={"emergency": 30, "urgent": 2 * _H, "routine": 24 * _H},
        ),
        ServiceClassInfo(
            ServiceClass.PATHOLOGY_DIAGNOSIS,
            "远程病理诊断",
            "Pathology diagnosis",
            False,
            ("pathology_slide", "pathology_report"),
            "imaging_reading",
            # slides take longer to read; frozen sections (emergency) are intraoperative
            report_minutes={"emergency": 45, "urgent": 48 * _H, "routine": 120 * _H},
        ),
        ServiceClassInfo(
            ServiceClass.OUTPATIENT,
            "远程门诊",
            "Remote outpatient visit",
            True,
            ("medical_record",),
            "outpatient",
        ),
        ServiceClassInfo(
            ServiceClass.WARD_ROUND,
            "远程查房",
            "Remote ward round",
            True,
            ("medical_record", "lab_result"),
            "consultation",
        ),
        ServiceClassInfo(
            ServiceClass.MONITORING,
            "远程监护",
            "Remote monitoring",
            True,
            ("ecg", "monitoring_data"),
            "consultation",
        ),
        ServiceClassInfo(
            ServiceClass.CASE_DISCUSSION,
            "病例讨论/多学科会诊",
            "Case discussion / MDT",
            True,
            ("dicom_study", "pathology_report", "lab_result", "medical_record"),
            "mdt",
        ),
        ServiceClassInfo(
            ServiceClass.EDUCATION,
            "远程教育/培训",
            "Education and training",
            True,
            (),
            "training",
        ),
        ServiceClassInfo(
            ServiceClass.APPOINTMENT,
            "远程预约",
            "Remote appointment",
            False,
            ("medical_record",),
            "outpatient",
        ),
        ServiceClassInfo(
            ServiceClass.REFERRAL,
            "双向转诊",
            "Two-way referral",
            False,
            ("medical_record", "referral_letter"),
            "outpatient",
        ),
    )
}

# Document kinds a request may carry (besides linked DICOM studies).
DOCUMENT_KINDS = (
    "ecg",
    "lab_result",
    "medical_record",
    "pathology_report",
    "pathology_slide",
    "monitoring_data",
    "referral_letter",
    "consent_form",
    "photo",
    "other",
)


def info(service_class: str) -> ServiceClassInfo:
    """The description of one service class."""
    return SERVICE_CLASSES[ServiceClass(service_class)]
