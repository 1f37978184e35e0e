"""The catalogue of service packages (签约服务包).

Fees and insurance shares vary by county; these are the demo defaults an
administrator adjusts. Chronic packages carry the follow-up interval of the
national basic public health service specification (hypertension and type 2
diabetes: at least four face-to-face follow-ups a year).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PackageSpec:
    code: str
    name_zh: str
    name_en: str
    kind: str
    services: tuple[str, ...]
    visits_per_year: int
    follow_up_interval_days: int | None
    fee_fen: int
    insurance_share_pct: int
    eligibility: str | None = None


CATALOGUE: tuple[PackageSpec, ...] = (
    PackageSpec(
        "basic",
        "基础包",
        "Basic package",
        "basic",
        (
            "basic medical care",
            "health records",
            "health education",
            "vaccination guidance",
            "referral to higher tiers",
            "medication guidance",
        ),
        1,
        None,
        1200,
        100,
    ),
    PackageSpec(
        "hypertension",
        "高血压包",
        "Hypertension",
        "personalised",
        (
            "blood pressure follow-up",
            "medication review",
            "lifestyle guidance",
            "yearly check-up",
            "priority referral",
        ),
        4,
        90,
        6000,
        70,
    ),
    PackageSpec(
        "diabetes_t2",
        "2型糖尿病包",
        "Type 2 diabetes",
        "personalised",
        (
            "fasting glucose follow-up",
            "HbA1c yearly",
            "foot and eye screening",
            "medication review",
            "priority referral",
        ),
        4,
        90,
        8000,
        70,
    ),
    PackageSpec(
        "elderly",
        "老年人包",
        "Elderly (65+)",
        "personalised",
        ("yearly health check", "self-care assessment", "TCM health management"),
        1,
        None,
        3000,
        80,
        "age65",
    ),
    PackageSpec(
        "maternal",
        "孕产妇包",
        "Pregnant women",
        "personalised",
        ("antenatal visits", "postnatal home visits", "health guidance"),
        7,
        None,
        5000,
        80,
        "female",
    ),
    PackageSpec(
        "child",
        "0-6岁儿童包",
        "Children 0-6",
        "personalised",
        ("newborn home visit", "growth and development checks", "vaccination schedule"),
        8,
        None,
        3000,
        80,
        "child0_6",
    ),
    PackageSpec(
        "severe_mental",
        "严重精神障碍包",
        "Severe mental illness",
        "personalised",
        ("risk assessment", "medication supervision", "family guidance"),
        4,
        90,
        4000,
        90,
    ),
    PackageSpec(
        "rehabilitation",
        "康复包",
        "Rehabilitation",
        "personalised",
        ("rehabilitation assessment", "home rehabilitation training", "assistive device advice"),
        6,
        60,
        6000,
        60,
    ),
)
