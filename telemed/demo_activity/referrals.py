"""Referral stories: up from a county hospital to its league hospital, and often back down
for rehabilitation, with the outcome sent back."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from referrals import service as referrals_service
from referrals.models import Referral
from referrals.schemas import OutcomeIn, ReferralCreate
from telemed.demo_activity.cast import League
from telemed.demo_activity.simulation import Sim, Story
from telemed.identity.models import Patient, User
from telemed.network.models import Institution

# (ICD-10, diagnosis, reason, clinical summary, discharge summary, care plan back home)
REFERRAL_CASES = [
    (
        "I63.9",
        "脑梗死",
        "急性脑梗死，需上级医院神经内科进一步诊治",
        "右侧肢体无力2天，头颅CT示左侧基底节区低密度影。",
        "住院10天，予抗血小板、降脂及早期康复治疗，肌力恢复至4级。",
        "继续阿司匹林、阿托伐他汀；每周康复训练3次；监测血压，1个月后复诊。",
    ),
    (
        "S72.0",
        "股骨颈骨折",
        "股骨颈骨折，需手术治疗",
        "跌倒后左髋疼痛、活动受限，X线示左股骨颈骨折。",
        "行左侧人工股骨头置换术，术后恢复顺利。",
        "伤口换药至拆线；助行器下地，循序康复训练；预防深静脉血栓。",
    ),
    (
        "I21.9",
        "急性心肌梗死",
        "急性心肌梗死溶栓后，需冠脉造影及介入治疗",
        "胸痛6小时，已行静脉溶栓，胸痛缓解。",
        "行冠脉造影及支架植入术，术后双联抗血小板治疗。",
        "双联抗血小板12个月；控制血压血脂；心脏康复；每月复查一次。",
    ),
    (
        "E11.9",
        "2型糖尿病",
        "血糖控制不佳，需调整治疗方案",
        "口服降糖药血糖仍波动于12-18mmol/L，伴口渴多饮。",
        "改为基础胰岛素联合二甲双胍，血糖控制达标。",
        "胰岛素注射及血糖自我监测指导；糖尿病饮食；每2周随访血糖。",
    ),
    (
        "J44.1",
        "慢性阻塞性肺疾病急性加重",
        "慢阻肺急性加重，基层治疗效果不佳",
        "咳嗽、咳痰、气喘加重1周，血氧饱和度89%。",
        "予抗感染、平喘及无创通气治疗，症状缓解。",
        "规律吸入治疗；家庭氧疗；肺康复训练；戒烟。",
    ),
]
REJECT_REASONS = ["本院相关科室床位已满，建议转往上级区域医疗中心", "病情适合在县级医院继续治疗"]


@dataclass(frozen=True)
class ReferralPlan:
    at: datetime
    referrer: User
    county: Institution
    league: League
    fate: str  # normal | reject | cancel | down
    close: bool
    case: int


def refer(sim: Sim, by: User, data: ReferralCreate, at: datetime) -> Callable[..., Referral]:
    """Create the draft referral; return `act(who, action, now, **kw)` for its next steps."""
    r = referrals_service.create_referral(
        session=sim.session, data=data, by=by, now=at, settings=sim.settings
    )
    sim.referrals += 1

    def act(who: User, action: str, now: datetime, **kw: Any) -> Referral:
        return referrals_service.transition(
            session=sim.session,
            referral_id=r.id,
            action=action,
            by=who,
            now=now,
            settings=sim.settings,
            **kw,
        )

    return act


def visit(
    act: Callable[..., Referral],
    receiver: User,
    t: datetime,
    *,
    ahead: Callable[[], timedelta],
    stay: Callable[[], timedelta],
    outcome: OutcomeIn,
) -> Generator[datetime, None, datetime]:
    """The receiver books the visit `ahead()`, the patient arrives, and after `stay()` the
    receiver completes it with `outcome`: the time of completion. (Each draw happens at the
    step it always did, so the replay stays the same.)"""
    booked = act(receiver, "book", t, appointment_at=t + ahead())
    assert booked.appointment_at is not None
    t = booked.appointment_at
    yield t
    act(receiver, "arrive", t)
    t += stay()
    yield t
    act(receiver, "complete", t, outcome=outcome)
    return t


def referral_story(sim: Sim, p: ReferralPlan) -> Story:
    """Up from a county hospital to its league hospital, and often back down for rehabilitation."""
    rng = sim.rng
    code, diagnosis, reason, summary, discharge, care_plan = REFERRAL_CASES[
        p.case % len(REFERRAL_CASES)
    ]
    receiver = p.league.specialists[p.case % len(p.league.specialists)]
    t = p.at
    yield t
    patient = sim.patient(p.county, t)
    act = refer(
        sim,
        p.referrer,
        ReferralCreate(
            patient_id=patient.id,
            to_institution_id=p.league.hospital.id,
            direction="up",
            reason=reason,
            diagnosis_code=code,
            diagnosis_text=diagnosis,
            clinical_summary=summary,
        ),
        t,
    )
    t += timedelta(minutes=rng.randint(3, 20))
    yield t
    act(p.referrer, "submit", t)
    if p.fate == "cancel":
        t += timedelta(hours=rng.uniform(1, 20))
        yield t
        act(p.referrer, "cancel", t, reason="患者选择自行前往外地医院就诊")
        return
    t += timedelta(hours=rng.uniform(0.3, 8))
    yield t
    act(receiver, "receive", t)
    t += timedelta(hours=rng.uniform(0.5, 20))
    yield t
    if p.fate == "reject":
        act(receiver, "reject", t, reason=rng.choice(REJECT_REASONS))
        return
    act(receiver, "accept", t)
    t += timedelta(minutes=rng.randint(5, 60))
    yield t
    done = yield from visit(
        act,
        receiver,
        t,
        ahead=lambda: timedelta(days=rng.uniform(0.5, 3)),
        stay=lambda: timedelta(days=rng.uniform(3, 10)),
        outcome=OutcomeIn(kind="discharge_summary", summary=discharge, recommendations=care_plan),
    )
    t = done
    if p.close:
        t += timedelta(hours=rng.uniform(2, 48))
        yield t
        act(p.referrer, "close", t)
    if p.fate == "down":
        sim.start(down_story(sim, p, patient, receiver, done, care_plan, code, diagnosis))


def down_story(
    sim: Sim,
    p: ReferralPlan,
    patient: Patient,
    referrer: User,
    after: datetime,
    care_plan: str,
    code: str,
    diagnosis: str,
) -> Story:
    """Back down to the patient's county hospital with a care plan; the outcome comes back."""
    rng = sim.rng
    receiver = p.referrer
    t = after + timedelta(minutes=rng.randint(20, 120))
    yield t
    act = refer(
        sim,
        referrer,
        ReferralCreate(
            patient_id=patient.id,
            to_institution_id=p.county.id,
            direction="down",
            reason="病情稳定，转回县级医院继续康复治疗",
            diagnosis_code=code,
            diagnosis_text=diagnosis,
            clinical_summary="上级医院住院治疗后病情稳定。",
            care_plan=care_plan,
        ),
        t,
    )

    t += timedelta(minutes=rng.randint(2, 10))
    yield t
    act(referrer, "submit", t)
    for action in ("receive", "accept"):
        t += timedelta(hours=rng.uniform(0.5, 12))
        yield t
        act(receiver, action, t)
    t = yield from visit(
        act,
        receiver,
        t,
        ahead=lambda: timedelta(days=rng.uniform(0.5, 2)),
        stay=lambda: timedelta(hours=rng.uniform(0.5, 3)),
        outcome=OutcomeIn(kind="visit_summary", summary="已接收患者，按照康复计划执行。"),
    )
    t += timedelta(hours=rng.uniform(4, 72))
    yield t
    act(referrer, "close", t)
