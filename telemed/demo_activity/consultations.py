"""Consultation stories: request (consent given), submit, accept, session, signed opinion,
acknowledgement, and the fates that cut them short (declined, cancelled, expired, late)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from dicom import service as imaging
from telemed.consultations import service as consultations
from telemed.consultations.schemas import (
    AcceptBody,
    ConsentCreate,
    ConsultationCreate,
    EcgMeasurements,
    OpinionWrite,
    ReferralAdvice,
)
from telemed.consultations.service_levels import accept_minutes, report_minutes
from telemed.demo_activity.simulation import Sim, Story
from telemed.identity.models import User
from telemed.network.models import Institution

# per kind: (summary, question, findings, impression, ICD-10)
CASES: dict[str, list[tuple[str, str, str, str, str]]] = {
    "ecg": [
        (
            "女，58岁，阵发性心悸3天，外院心电图提示心律不齐。",
            "请协助判读心电图，明确心律失常类型。",
            "窦性心律，频发房性早搏，部分未下传，ST-T未见明显动态改变。",
            "频发房性早搏",
            "I49.1",
        ),
        (
            "男，67岁，高血压病史10年，体检心电图异常。",
            "请判读心电图，是否存在心肌缺血改变。",
            "窦性心律，左心室高电压，V4-V6导联ST段压低0.05mV，T波低平。",
            "左心室肥厚伴ST-T改变",
            "I51.7",
        ),
        (
            "男，45岁，胸闷气短1周，活动后加重。",
            "请协助判读心电图。",
            "心房颤动，心室率约110次/分，未见明显ST段抬高。",
            "心房颤动（快心室率）",
            "I48",
        ),
    ],
    "consultation": [
        (
            "男，62岁，突发胸痛2小时，心电图示V1-V4导联ST段抬高，肌钙蛋白升高。",
            "急性前壁心肌梗死？请会诊指导溶栓或转运PCI。",
            "远程会诊：生命体征尚平稳，胸痛持续，心电图符合急性前壁ST段抬高型心肌梗死。",
            "急性前壁ST段抬高型心肌梗死",
            "I21.0",
        ),
        (
            "女，71岁，言语不清伴右侧肢体无力3小时，头颅CT未见出血。",
            "急性脑梗死？是否具备溶栓指征，请会诊。",
            "远程会诊：NIHSS评分8分，发病4.5小时内，无溶栓禁忌。",
            "急性缺血性脑卒中",
            "I63.9",
        ),
        (
            "男，55岁，车祸伤后胸痛、呼吸困难，胸片示右侧气胸。",
            "请会诊指导进一步处理及转运时机。",
            "远程会诊：右侧张力性气胸可能，血氧饱和度88%。",
            "创伤性气胸",
            "S27.0",
        ),
        (
            "女，66岁，重症肺炎，氧合指数进行性下降。",
            "请协助制定呼吸支持及抗感染方案。",
            "远程会诊：双肺弥漫渗出，氧合指数150mmHg，感染指标升高。",
            "重症肺炎伴呼吸衰竭",
            "J18.9",
        ),
    ],
}
RECOMMENDATIONS = {
    "ecg": "结合临床；建议动态心电图及心脏超声检查，必要时心内科门诊随诊。",
    "consultation": "按会诊意见处理；病情变化随时再次会诊，稳定后评估转诊上级医院。",
}
DECLINE_REASONS = [
    "资料不全，请补充近期检查结果后重新申请",
    "本专业不适合处理该问题，建议申请其他专科",
]
CANCEL_REASONS = ["患者病情好转，暂不需要会诊", "患者家属要求转上级医院就诊"]


# per ECG case (CASES["ecg"]): the synthetic recording — premature beats shown as sinus
# rhythm at 72, left ventricular high voltage, atrial fibrillation at ~110 (no P waves)
ECG_SPECS = (
    imaging.EcgSpec(heart_rate=72, pr_ms=160, qrs_ms=90, qt_ms=390, seed=1),
    imaging.EcgSpec(heart_rate=68, pr_ms=170, qrs_ms=100, qt_ms=410, r_uv=2400, seed=2),
    imaging.EcgSpec(heart_rate=110, qrs_ms=86, qt_ms=330, p_uv=0, rr_jitter=0.2, seed=3),
)


@dataclass(frozen=True)
class ConsultPlan:
    at: datetime
    requester: User
    county: Institution
    specialist: User
    fate: str  # normal | late_accept | late_report | decline | cancel | expire | redirect
    acknowledge: bool
    pay: bool
    case: int
    # fate redirect: the receiving hospital's coordinator sends it on to this specialist
    redirect: tuple[User, User] | None = None  # (coordinator, specialist)


def consultation_story(sim: Sim, p: ConsultPlan) -> Story:
    """Create (consent given) -> submit -> accept -> [session] -> opinion signed -> acknowledged."""
    s, st, rng = sim.session, sim.settings, sim.rng
    kind = "ecg" if p.specialist.specialty_code == "electrophysiology" else "consultation"
    summary, question, findings, impression, icd10 = CASES[kind][p.case % len(CASES[kind])]
    urgency = (
        "emergency" if kind == "consultation" else rng.choice(["routine", "routine", "urgent"])
    )
    service_class = "ecg_diagnosis" if kind == "ecg" else "consultation"
    t = p.at
    yield t
    patient = sim.patient(p.county, t)
    c = consultations.create(
        session=s,
        by=p.requester,
        data=ConsultationCreate(
            patient_id=patient.id,
            service_class=service_class,  # type: ignore[arg-type]
            urgency=urgency,  # type: ignore[arg-type]
            summary=summary,
            question=question,
            wanted_specialty=p.specialist.specialty_code or "",
            chosen_institution_id=p.specialist.institution_id,
            chosen_specialist_id=p.specialist.id,
            # the story names its specialist; where routing would propose another hospital
            # first, the requester records why (docs/routing.md, overrides)
            override_reason="指定专家：既往在该院就诊 (demo)",
            consent=ConsentCreate(
                given_by=patient.name,
                method="verbal",
                given_at=t - timedelta(minutes=5),
                note="已向患者说明远程会诊及资料共享，患者口头同意",
            ),
        ),
        now=t,
    )
    sim.consultations += 1
    ecg = None
    if kind == "ecg":  # the recording itself (a synthetic 12-lead ECG), linked to the request
        spec = ECG_SPECS[p.case % len(ECG_SPECS)]
        study_uid = imaging.attach_synthetic_ecg(
            session=s,
            settings=st,
            spec=spec,
            consultation_id=c.id,
            by=p.requester,
            patient_id=patient.id,
            patient_name=patient.name,
            uid_seed=f"demo-ecg-{sim.consultations}",
            now=t,
        )
        ecg = EcgMeasurements(**imaging.demo_ecg_values(spec, study_uid))
    t += timedelta(minutes=rng.randint(2, 15))
    yield t
    consultations.submit(session=s, consultation_id=c.id, by=p.requester, now=t, settings=st)
    submitted = t
    assert c.accept_due_at is not None and c.expires_at is not None
    accept_due, expires = c.accept_due_at, c.expires_at
    if p.pay and c.fee_cents > 0:
        t += timedelta(minutes=rng.randint(1, 10))
        yield t
        consultations.pay(session=s, consultation_id=c.id, by=p.requester, now=t)
    limit = timedelta(minutes=accept_minutes(st.consultations, urgency))
    if p.fate == "expire":  # nobody takes it: the sweep breaches, then expires it
        sim.sweep_at(accept_due)
        sim.sweep_at(expires)
        return
    if p.fate == "cancel":
        t += limit * rng.uniform(0.1, 0.6)
        sim.sweep_if_missed(accept_due, t)
        yield t
        if c.state == "submitted":
            reason = rng.choice(CANCEL_REASONS)
            consultations.cancel(
                session=s, consultation_id=c.id, by=p.requester, reason=reason, now=t
            )
        return
    specialist = p.specialist
    if p.redirect is not None:
        coordinator, specialist = p.redirect
        t += limit * rng.uniform(0.05, 0.3)
        sim.sweep_if_missed(accept_due, t)
        yield t
        if c.state != "submitted":
            return
        consultations.redirect(
            session=s,
            consultation_id=c.id,
            by=coordinator,
            reason="本院该专科会诊已满，转请盟市医院专家",
            institution_id=None,
            specialist_id=specialist.id,
            now=t,
            settings=st,
        )
        submitted = t
        assert c.accept_due_at is not None
        accept_due = c.accept_due_at
    late = p.fate == "late_accept"
    t = submitted + limit * (rng.uniform(1.1, 1.6) if late else rng.uniform(0.02, 0.4))
    sim.sweep_if_missed(accept_due, t)
    yield t
    if c.state != "submitted":
        return
    if p.fate == "decline":
        reason = rng.choice(DECLINE_REASONS)
        consultations.decline(session=s, consultation_id=c.id, by=specialist, reason=reason, now=t)
        return
    consultations.accept(
        session=s,
        consultation_id=c.id,
        by=specialist,
        data=AcceptBody(note="已接收"),
        now=t,
        settings=st,
    )
    accepted = t
    assert c.report_due_at is not None
    report_due = c.report_due_at
    if c.state == "scheduled":  # an emergency: the session starts at once
        t += timedelta(minutes=rng.randint(2, 8))
        sim.sweep_if_missed(report_due, t)
        yield t
        consultations.start_session(session=s, consultation_id=c.id, by=specialist, now=t)
    to_report = timedelta(minutes=report_minutes(st.consultations, service_class, urgency))
    share = rng.uniform(1.1, 1.5) if p.fate == "late_report" else rng.uniform(0.3, 0.9)
    t = max(t + timedelta(minutes=5), accepted + to_report * share)
    sim.sweep_if_missed(report_due, t)
    yield t
    opinion = OpinionWrite(
        findings=findings,
        impression=impression,
        icd10=[icd10],
        recommendations=RECOMMENDATIONS[kind],
        referral_advice=ReferralAdvice(refer=kind == "consultation" and p.case % 2 == 0),
        ecg_measurements=ecg,
    )
    consultations.save_draft(session=s, consultation_id=c.id, by=specialist, data=opinion, now=t)
    t += timedelta(minutes=rng.randint(1, 10))
    yield t
    consultations.sign(
        session=s,
        consultation_id=c.id,
        by=specialist,
        now=t,
        settings=st,
        signer_verified=True,
    )
    if not p.acknowledge:
        return
    t += timedelta(minutes=rng.randint(20, 30 * 60))
    yield t
    consultations.acknowledge(session=s, consultation_id=c.id, by=p.requester, now=t)


def consultation_fate(rng: random.Random) -> str:
    r = rng.random()
    for fate, share in (
        ("decline", 0.06),
        ("cancel", 0.04),
        ("expire", 0.03),
        ("late_accept", 0.08),
        ("late_report", 0.12),
    ):
        if r < share:
            return fate
        r -= share
    return "normal"
