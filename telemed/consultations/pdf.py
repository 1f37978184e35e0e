"""Printable PDFs of a signed opinion (会诊意见书) and of a payment receipt (缴费凭证) in
zh-CN, English or Mongolian script.
Chinese is set in the built-in CID font STSong-Light (no font file ships for it); the
Mongolian layout is vertical (`telemed.core.printing`)."""

from __future__ import annotations

from telemed.consultations.models import (
    Consultation,
    ConsultationConsent,
    Opinion,
    Payment,
    SpecialistKey,
)
from telemed.consultations.pdf_texts import OPINION, RECEIPT
from telemed.consultations.schemas import Diagnosis
from telemed.consultations.service_classes import info
from telemed.core.printing import Printed, Section, render
from telemed.core.printing.common import patient_line, texts, when
from telemed.identity.models import TITLE_NAMES, Patient, Title, User
from telemed.network.models import Institution
from telemed.network.specialties import specialty_name


def doctor_name(u: User | None) -> str:
    """A doctor with their title (职称), or the dash."""
    if u is None:
        return "—"
    title = TITLE_NAMES.get(Title(u.title), "") if u.title else ""
    return f"{u.full_name} {title}".strip()


def diagnosis_line(diagnoses: list[Diagnosis], lang: str) -> str:
    """The ICD-10 codes with their names in `lang` (English names only in English)."""

    def one(d: Diagnosis) -> str:
        name = (d.name_en or d.name_zh) if lang == "en" else (d.name_zh or d.name_en)
        return f"{d.code} {name}".strip()

    return ("; " if lang == "en" else "；").join(one(d) for d in diagnoses)


def _kind(service_class: str, lang: str) -> str:
    kind = info(service_class)
    return kind.name_en if lang == "en" else kind.name_zh


def _advice(opinion: Opinion, t: dict[str, str], lang: str) -> str:
    """The referral advice: the specialty by its name in `lang`, never by its code."""
    advice = opinion.referral_advice or {}
    if not advice.get("refer"):
        return t["no_referral"]
    specialty = advice.get("specialty")
    return (
        t["refer"]
        + (f"：{specialty_name(str(specialty), lang)}" if specialty else "")
        + (f"。{advice.get('note')}" if advice.get("note") else "")
    )


def _ecg(opinion: Opinion, t: dict[str, str]) -> list[str]:
    m = opinion.ecg_measurements or {}

    def v(key: str) -> str:
        value = m.get(key)
        return "—" if value is None else f"{value:g}"

    lines = [
        t["ecg_values"].format(
            hr=v("heart_rate_bpm"), rr=v("rr_ms"), pr=v("pr_ms"), qrs=v("qrs_ms"),
            qt=v("qt_ms"), qtcb=v("qtc_bazett_ms"), qtcf=v("qtc_fridericia_ms"),
            axis=v("axis_deg"),
        )
    ]  # fmt: skip
    if m.get("edited"):
        lines.append(t["ecg_edited"].format(names=", ".join(m["edited"])))
    return lines


def render_opinion(
    *,
    consultation: Consultation,
    opinion: Opinion,
    key: SpecialistKey,
    patient: Patient,
    requester: User,
    author: User,
    requesting: Institution,
    receiving: Institution | None,
    diagnoses: list[Diagnosis] | None = None,
    author_institution: Institution | None = None,
    consents: list[ConsultationConsent] | None = None,
    lang: str = "zh-CN",
) -> bytes:
    """The signed opinion as an A4 PDF in `lang`, the ICD-10 codes named (`diagnoses`)."""
    c, t = consultation, texts(OPINION, lang)
    url = f"GET /api/v1/consultations/{c.id}/opinion/verify?version={opinion.version}"
    sections = [
        Section(t["question"], [c.question]),
        Section(t["findings"], [opinion.findings]),
        Section(t["impression"], [opinion.impression]),
        Section(t["recommendations"], [opinion.recommendations or "—"]),
        Section(t["referral"], [_advice(opinion, t, lang)]),
    ]
    if opinion.icd10:
        named = diagnoses or [Diagnosis(code=c, name_zh="", name_en="") for c in opinion.icd10]
        sections.insert(3, Section(t["icd10"], [diagnosis_line(named, lang)]))
    if opinion.ecg_measurements:
        sections.insert(3, Section(t["ecg"], _ecg(opinion, t)))
    if opinion.correction_reason:
        sections.append(Section(t["correction"], [opinion.correction_reason]))
    sections += [_consent(c, t) for c in consents or []]
    sections.append(
        Section(
            t["signature"],
            [
                t["signer"].format(doctor=doctor_name(author), key=key.id),
                t["fingerprint"].format(fingerprint=key.fingerprint),
                t["signature_value"].format(signature=opinion.signature),
                t["verify"].format(url=url),
            ],
            small=True,
        )
    )
    doc = Printed(
        title=t["title"],
        subtitle=f"{t['number']} {c.id}　{t['version'].format(version=opinion.version)}",
        rows=[
            (t["service_class"], _kind(c.service_class, lang)),
            (t["urgency"], t[c.urgency]),
            (t["patient"], patient_line(patient, t, lang)),
            (t["resident_id"], patient.resident_id_masked),
            (t["requesting"], requesting.name_zh),
            (t["requester"], doctor_name(requester)),
            (t["receiving"], receiving.name_zh if receiving else "—"),
            (t["author"], doctor_name(author)),
            (t["author_hospital"], _hospital(author_institution, lang)),
            (t["submitted"], when(c.submitted_at, t)),
            (t["signed"], when(opinion.signed_at, t)),
        ],
        sections=sections,
        author=author.full_name,
    )
    return render(doc, lang)


def _consent(consent: ConsultationConsent, t: dict[str, str]) -> Section:
    """The patient's consent: who, how, when (and the witness); a drawn signature printed."""
    line = t["consent_line"].format(
        who=consent.given_by,
        how=t.get(f"consent_{consent.method}", consent.method),
        when=when(consent.given_at, t),
    )
    if consent.witness:
        line += t["consent_witness"].format(witness=consent.witness)
    return Section(t["consent"], [line], image=consent.signature_png)


def _hospital(inst: Institution | None, lang: str) -> str:
    if inst is None:
        return "—"
    return (inst.name_en or inst.name_zh) if lang == "en" else inst.name_zh


def render_receipt(
    *, consultation: Consultation, payment: Payment, patient: Patient, lang: str = "zh-CN"
) -> bytes:
    """A payment or refund of the consultation's fee as an A4 PDF in `lang`."""
    t = texts(RECEIPT, lang)
    amount = f"{payment.amount_cents / 100:.2f} {payment.currency}"
    doc = Printed(
        title=t["title"],
        subtitle=f"{t['number']} {payment.id}",
        rows=[
            (t["patient"], patient_line(patient, t, lang)),
            (t["consultation"], str(consultation.id)),
            (t["service_class"], _kind(consultation.service_class, lang)),
            (t["kind"], t.get(payment.kind, payment.kind)),
            (t["amount"], amount),
            (t["status"], t.get(payment.status, payment.status)),
            (t["provider"], payment.provider),
            (t["reference"], payment.provider_ref),
            (t["paid_at"], when(payment.created_at, t)),
        ],
        sections=[Section(t["note"], [t["note_text"]], small=True)],
    )
    return render(doc, lang)
