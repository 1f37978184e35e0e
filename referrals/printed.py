"""The printed referral slip (转诊单) and family-doctor contract (签约协议) for the patient."""

from __future__ import annotations

from sqlmodel import Session, col, select

from referrals.family.models import Contract, ContractPackage, FamilyDoctorTeam, ServicePackage
from referrals.models import Referral
from referrals.print_texts import CONTRACT, SLIP
from telemed.core.printing import Printed, Section, render
from telemed.core.printing.common import day, patient_line, texts, when
from telemed.identity.models import Patient, User
from telemed.network.models import Department, Institution


def _name(session: Session, model: type[Institution] | type[Department], ident: object) -> str:
    row = session.get(model, ident) if ident else None
    return str(getattr(row, "name_zh", "—"))


def _user(session: Session, ident: object) -> str:
    user = session.get(User, ident) if ident else None
    return user.full_name if user else "—"


def referral_slip(*, session: Session, referral: Referral, patient: Patient, lang: str) -> bytes:
    """The slip the patient carries to the receiving hospital."""
    r, t = referral, texts(SLIP, lang)
    rows = [
        (t["direction"], t[r.direction]),
        (t["urgency"], t[r.urgency]),
        (t["patient"], patient_line(patient, t, lang)),
        (t["resident_id"], patient.resident_id_masked),
        (t["from_institution"], _name(session, Institution, r.from_institution_id)),
        (t["from_doctor"], _user(session, r.from_doctor_id)),
        (t["to_institution"], _name(session, Institution, r.to_institution_id)),
        (t["to_department"], _name(session, Department, r.to_department_id)),
        (t["appointment"], when(r.appointment_at, t)),
        (t["contact_by"], when(r.contact_by, t)),
        (t["diagnosis"], f"{r.diagnosis_code} {r.diagnosis_text}".strip()),
    ]
    if r.green_channel:
        rows.append((t["green_channel"], r.green_channel_reason or "✓"))
    sections = [Section(t["reason"], [r.reason])]
    if r.clinical_summary:
        sections.append(Section(t["summary"], [r.clinical_summary]))
    if r.care_plan:
        sections.append(Section(t["care_plan"], [r.care_plan]))
    sections.append(Section(t["bring"], [], small=True))
    doc = Printed(t["title"], f"{t['number']} {r.id}", rows, sections)
    return render(doc, lang)


def _packages(session: Session, contract: Contract, t: dict[str, str], lang: str) -> list[str]:
    rows = session.exec(
        select(ServicePackage)
        .join(ContractPackage, col(ContractPackage.package_code) == col(ServicePackage.code))
        .where(ContractPackage.contract_id == contract.id)
        .order_by(col(ServicePackage.code))
    ).all()
    lines = []
    for p in rows:
        name = p.name_en if lang == "en" else p.name_zh
        fee = f"{p.fee_fen / 100:.2f}"
        line = t["package"].format(
            name=name, visits=p.visits_per_year, fee=fee, share=p.insurance_share_pct
        )
        if lang == "en":  # the services are named in English only
            line += "\n" + t["services"].format(services=", ".join(p.services))
        lines.append(line)
    return lines


def contract_document(
    *, session: Session, contract: Contract, patient: Patient, lang: str
) -> bytes:
    """The resident's contract with their family-doctor team."""
    c, t = contract, texts(CONTRACT, lang)
    team = session.get(FamilyDoctorTeam, c.team_id)
    assert team is not None
    rows = [
        (t["patient"], patient_line(patient, t, lang)),
        (t["resident_id"], patient.resident_id_masked),
        (t["team"], team.name),
        (t["institution"], _name(session, Institution, team.institution_id)),
        (t["lead"], _user(session, team.lead_doctor_id)),
        (t["term"], f"{day(c.term_start, t)} – {day(c.term_end, t)}"),
        (t["status"], t.get(c.status, c.status)),
        (t["channel"], t.get(c.signing_channel, c.signing_channel)),
        (t["signed"], when(c.signed_at, t)),
        (t["confirmed"], when(c.confirmed_at, t)),
    ]
    sections = [
        Section(t["packages"], _packages(session, c, t, lang)),
        Section(t["terms"], [t["terms_text"]]),
    ]
    doc = Printed(t["title"], f"{t['number']} {c.id}", rows, sections)
    return render(doc, lang)
