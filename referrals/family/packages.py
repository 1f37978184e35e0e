"""The catalogue of service packages (签约服务包).

Fees and insurance shares vary by county; these are the demo defaults an
administrator adjusts. Chronic packages carry the follow-up interval of the
national basic public health service specification (hypertension and type 2
diabetes: at least four face-to-face follow-ups a year).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from referrals.family.models import ServicePackage
from telemed.core.errors import Invalid
from telemed.identity.models import Patient


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


def ensure_packages(*, session: Session) -> list[ServicePackage]:
    """Load the package catalogue (idempotent)."""
    rows = []
    for spec in CATALOGUE:
        row = session.get(ServicePackage, spec.code)
        if row is None:
            row = ServicePackage(
                code=spec.code,
                name_zh=spec.name_zh,
                name_en=spec.name_en,
                kind=spec.kind,
                services=list(spec.services),
                visits_per_year=spec.visits_per_year,
                follow_up_interval_days=spec.follow_up_interval_days,
                fee_fen=spec.fee_fen,
                insurance_share_pct=spec.insurance_share_pct,
                eligibility=spec.eligibility,
            )
            session.add(row)
        rows.append(row)
    session.flush()
    return rows


def list_packages(*, session: Session) -> list[ServicePackage]:
    return list(session.execute(select(ServicePackage).order_by(ServicePackage.code)).scalars())


# Why a package's rule refuses a resident (the `reason` of `package_not_eligible`).
INELIGIBLE_REASONS: dict[str, str] = {
    "age65": "under_65",
    "child0_6": "over_6",
    "female": "not_female",
}


def age_on(patient: Patient, on: date) -> int:
    """The resident's age in whole years on `on`."""
    born = patient.birth_date
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def ineligibility(pkg: ServicePackage, patient: Patient, on: date) -> str | None:
    """Why `patient` may not sign `pkg` on `on` (a code of `INELIGIBLE_REASONS`), or None.
    The one rule: the offer (`offers`) and the signing (`resolve_packages`) both ask it."""
    age = age_on(patient, on)
    ok = {
        None: True,
        "age65": age >= 65,
        "child0_6": age <= 6,
        "female": patient.sex == "female",
    }.get(pkg.eligibility, True)
    return None if ok else INELIGIBLE_REASONS.get(pkg.eligibility or "", "not_eligible")


def offers(
    *, session: Session, patient: Patient, on: date
) -> list[tuple[ServicePackage, str | None]]:
    """Every package with why the resident may not sign it (None: they may), on `on`."""
    return [(pkg, ineligibility(pkg, patient, on)) for pkg in list_packages(session=session)]


def _check_eligibility(pkg: ServicePackage, patient: Patient, on: date) -> None:
    reason = ineligibility(pkg, patient, on)
    if reason is not None:
        raise Invalid(
            f"package {pkg.code!r} is not for this resident ({pkg.eligibility})",
            field="package_codes",
            code="package_not_eligible",
            package=pkg.code,
            reason=reason,
        )


def resolve_packages(
    session: Session, codes: list[str], patient: Patient, on: date
) -> list[ServicePackage]:
    wanted = ["basic", *[c for c in codes if c != "basic"]]
    pkgs = []
    for code in dict.fromkeys(wanted):
        pkg = session.get(ServicePackage, code)
        if pkg is None:
            raise Invalid(f"unknown package {code!r}", field="package_codes")
        _check_eligibility(pkg, patient, on)
        pkgs.append(pkg)
    return pkgs
