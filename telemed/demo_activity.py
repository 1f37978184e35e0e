"""Demo activity: about 30 days of consultations and referrals across the network.

`telemed seed --demo` runs this after `telemed.seed.seed_demo` (skip it with
`--no-activity`); the test suite's database has none of it. Every request goes through
the domains' own service functions with `now` in the past, replayed in time order as one
simulation: each consultation or referral is a small story (a generator yielding the time
of its next step), and the service-level sweep runs at the moments the real one would have
noticed a missed deadline. So states, timestamps, deadlines, breaches, audit rows and
notifications are exactly what the real flows produce. Steps whose time has not come yet
are left undone: recent requests are still in progress.

Deterministic (fixed random seed, times relative to `now`) and idempotent: the first demo
patient it registers marks a database that already has the activity.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from referrals import service as referrals_service
from referrals.models import Referral
from referrals.schemas import OutcomeIn, ReferralCreate
from scheduling import service as scheduling
from scheduling.horizon import materialize
from scheduling.models import ScheduleRule, Slot
from telemed.consultations import jobs as consultation_jobs
from telemed.consultations import service as consultations
from telemed.consultations.schemas import (
    AcceptBody,
    ConsentCreate,
    ConsultationCreate,
    OpinionWrite,
    ReferralAdvice,
)
from telemed.consultations.service_levels import accept_minutes, report_minutes
from telemed.core import clock
from telemed.core.clock import SHANGHAI
from telemed.core.ids import uuid7
from telemed.core.settings import Settings
from telemed.identity import resident_id as rid
from telemed.identity import service as identity_service
from telemed.identity.models import Patient, Role, User
from telemed.identity.schemas import PatientCreate
from telemed.network.models import Institution

RANDOM_SEED = 20261127
DAYS = 30
LEAGUES = 9  # of the 12: the dashboard shows busy, quiet and idle leagues
CONSULTATIONS_PER_LEAGUE = (10, 20)  # over the 30 days, per league (random in range)
ACUTE_SHARE = 0.35  # live emergency consultations; the rest are remote ECG readings
UP_REFERRALS_PER_LEAGUE = (4, 9)
DOWN_SHARE = 0.45  # of completed up-referrals, sent back down for rehabilitation
REDIRECT_SHARE = 0.12  # of live requests: via the coordinator's regional hospital, sent on

Story = Iterator[datetime]


# ---------------------------------------------------------------- the cast


@dataclass
class _League:
    code: str
    hospital: Institution  # the league hospital
    specialists: list[User]  # of the league hospital
    counties: list[tuple[Institution, list[User]]]  # county hospitals and their doctors


@dataclass
class _Cast:
    leagues: list[_League]
    regional: list[User]  # specialists of the regional hospitals
    coordinator: User | None = None  # of a regional hospital: redirects requests sent there


def _cast(session: Session, rng: random.Random) -> _Cast | None:
    """The demo hospitals' doctors (`dr-*`), grouped by league; None without them."""
    rows = session.execute(
        select(User, Institution)
        .join(Institution, col(Institution.id) == User.institution_id)
        .where(col(User.username).startswith("dr-"), col(User.is_active).is_(True))
        .order_by(col(User.username))
    ).all()
    by_inst: dict[str, tuple[Institution, list[User]]] = {}
    for user, inst in rows:
        by_inst.setdefault(inst.code, (inst, []))[1].append(user)
    league_hosp: dict[str, tuple[Institution, list[User]]] = {}
    counties: dict[str, list[tuple[Institution, list[User]]]] = {}
    regional: list[User] = []
    for inst, users in by_inst.values():
        if inst.tier == "league":
            league_hosp[inst.league_code] = (inst, [u for u in users if u.role == Role.SPECIALIST])
        elif inst.tier == "county":
            doctors = [u for u in users if u.role == Role.COUNTY_DOCTOR]
            if doctors:
                counties.setdefault(inst.league_code, []).append((inst, doctors))
        elif inst.tier == "regional":
            regional += [u for u in users if u.role == Role.SPECIALIST]
    codes = sorted(c for c in league_hosp if counties.get(c) and league_hosp[c][1])
    if not codes or not regional:
        return None
    chosen = sorted(rng.sample(codes, min(LEAGUES, len(codes))))
    coordinator = session.execute(
        select(User).where(User.username == "coordinator", col(User.is_active).is_(True))
    ).scalar_one_or_none()
    return _Cast(
        leagues=[
            _League(code, league_hosp[code][0], league_hosp[code][1], counties[code])
            for code in chosen
        ],
        regional=regional,
        coordinator=coordinator,
    )


# ---------------------------------------------------------------- patients

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢"
GIVEN = ["建国", "秀英", "桂兰", "志强", "玉兰", "海军", "丽娟", "国华", "淑珍", "文斌", "红梅"]
MONGOLIAN = ["巴雅尔", "乌兰", "其其格", "苏和", "格日勒", "那仁", "萨仁", "额尔敦", "图雅", "宝音"]


@dataclass(frozen=True)
class _PatientSpec:
    name: str
    resident_id: str
    phone: str
    county_code: str


def _patient_spec(n: int, county_code: str) -> _PatientSpec:
    """The n-th demo patient: depends on n and the county only (the first marks the seed)."""
    female = n % 2 == 1
    born = date(1938, 1, 1) + timedelta(days=(n * 397) % 29000)
    if n % 3 == 0:
        name = MONGOLIAN[n % len(MONGOLIAN)]
    else:
        name = SURNAMES[(n * 7) % len(SURNAMES)] + GIVEN[n % len(GIVEN)]
    return _PatientSpec(
        name=name,
        resident_id=rid.make(county_code, born, 100 + n % 800, female=female),
        phone=f"139{n:08d}",
        county_code=county_code,
    )


# ---------------------------------------------------------------- the simulation


@dataclass(order=True)
class _Step:
    at: datetime
    seq: int
    story: Story | None = field(compare=False, default=None)  # None: a service-level sweep


@dataclass
class _Sim:
    session: Session
    settings: Settings
    now: datetime
    rng: random.Random
    queue: list[_Step] = field(default_factory=list)
    seq: int = 0
    sweeps: set[datetime] = field(default_factory=set)
    patients: int = 0
    consultations: int = 0
    referrals: int = 0
    bookings: int = 0
    at: datetime | None = None  # the time of the step being replayed

    def __post_init__(self) -> None:
        self.at = self.now

    def start(self, story: Story) -> None:
        self._push(story)

    def _push(self, story: Story) -> None:
        try:
            at = next(story)
        except StopIteration:
            return
        self.seq += 1
        heapq.heappush(self.queue, _Step(at, self.seq, story))

    def sweep_at(self, at: datetime) -> None:
        """The real sweep runs every minute: it notices a deadline within one."""
        at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if at < self.now and at not in self.sweeps:
            self.sweeps.add(at)
            self.seq += 1
            heapq.heappush(self.queue, _Step(at, self.seq, None))

    def sweep_if_missed(self, due: datetime, next_step: datetime) -> None:
        """Sweep after `due` when the story's next step comes later (or never, before now)."""
        if next_step > due:
            self.sweep_at(due)

    def run(self) -> None:
        """Every step before `now`, in time order; later steps never happen."""
        while self.queue and self.queue[0].at < self.now:
            step = heapq.heappop(self.queue)
            self.at = step.at
            if step.story is None:
                consultation_jobs.sweep(session=self.session, now=step.at, settings=self.settings)
            else:
                self._push(step.story)
        self.session.flush()

    def patient(self, county: Institution, at: datetime) -> Patient:
        assert county.county_code is not None
        spec = _patient_spec(self.patients, county.county_code)
        self.patients += 1
        return identity_service.register_patient(
            session=self.session,
            data=PatientCreate(
                name=spec.name,
                resident_id=spec.resident_id,
                phone=spec.phone,
                county_code=spec.county_code,
                sms_consent=True,
            ),
            institution_id=county.id,
            now=at,
            settings=self.settings,
        )


def _day_time(rng: random.Random, start: datetime, day: int, emergency: bool) -> datetime:
    """A moment of day `day` after `start`: office hours in Shanghai, emergencies any time."""
    d = start.astimezone(SHANGHAI).date() + timedelta(days=day)
    if emergency:
        minute = rng.randrange(24 * 60)
    else:
        minute = rng.randrange(8 * 60, 17 * 60 + 30)
    local = datetime.combine(d, time(minute // 60, minute % 60), SHANGHAI)
    return local.astimezone(start.tzinfo)


# ---------------------------------------------------------------- consultations

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


@dataclass(frozen=True)
class _ConsultPlan:
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


def _consultation_story(sim: _Sim, p: _ConsultPlan) -> Story:
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
    )
    consultations.save_draft(session=s, consultation_id=c.id, by=specialist, data=opinion, now=t)
    t += timedelta(minutes=rng.randint(1, 10))
    yield t
    consultations.sign(session=s, consultation_id=c.id, by=specialist, now=t, settings=st)
    if not p.acknowledge:
        return
    t += timedelta(minutes=rng.randint(20, 30 * 60))
    yield t
    consultations.acknowledge(session=s, consultation_id=c.id, by=p.requester, now=t)


def _consultation_fate(rng: random.Random) -> str:
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


# ---------------------------------------------------------------- referrals

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
class _ReferralPlan:
    at: datetime
    referrer: User
    county: Institution
    league: _League
    fate: str  # normal | reject | cancel | down
    close: bool
    case: int


def _refer(sim: _Sim, by: User, data: ReferralCreate, at: datetime) -> Callable[..., Referral]:
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


def _referral_story(sim: _Sim, p: _ReferralPlan) -> Story:
    """Up from a county hospital to its league hospital, and often back down for rehabilitation."""
    rng = sim.rng
    code, diagnosis, reason, summary, discharge, care_plan = REFERRAL_CASES[
        p.case % len(REFERRAL_CASES)
    ]
    receiver = p.league.specialists[p.case % len(p.league.specialists)]
    t = p.at
    yield t
    patient = sim.patient(p.county, t)
    act = _refer(
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
    booked = act(receiver, "book", t, appointment_at=t + timedelta(days=rng.uniform(0.5, 3)))
    assert booked.appointment_at is not None
    t = booked.appointment_at
    yield t
    act(receiver, "arrive", t)
    t += timedelta(days=rng.uniform(3, 10))
    yield t
    act(
        receiver,
        "complete",
        t,
        outcome=OutcomeIn(kind="discharge_summary", summary=discharge, recommendations=care_plan),
    )
    done = t
    if p.close:
        t += timedelta(hours=rng.uniform(2, 48))
        yield t
        act(p.referrer, "close", t)
    if p.fate == "down":
        sim.start(_down_story(sim, p, patient, receiver, done, care_plan, code, diagnosis))


def _down_story(
    sim: _Sim,
    p: _ReferralPlan,
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
    act = _refer(
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
    booked = act(receiver, "book", t, appointment_at=t + timedelta(days=rng.uniform(0.5, 2)))
    assert booked.appointment_at is not None
    t = booked.appointment_at
    yield t
    act(receiver, "arrive", t)
    t += timedelta(hours=rng.uniform(0.5, 3))
    yield t
    act(
        receiver,
        "complete",
        t,
        outcome=OutcomeIn(kind="visit_summary", summary="已接收患者，按照康复计划执行。"),
    )
    t += timedelta(hours=rng.uniform(4, 72))
    yield t
    act(referrer, "close", t)


# ---------------------------------------------------------------- appointments

SCHEDULED_PER_LEAGUE = 2  # league-hospital specialists whose slots the demo books
BOOKED_SHARE = (0.45, 0.85)  # of a specialist's past slots, random per specialist
NOSHOW_SHARE = 0.12
BOOKED_OUT = 2  # specialists booked out this week: the dashboard's overloaded list
PATIENTS_PER_SPECIALIST = 6


def _past_slots(session: Session, specialists: list[User], start: datetime, now: datetime) -> None:
    """Slots of the past month for these specialists: their demo weekly rules, valid from
    `start`, copied into rules of their own and materialized from `start` up to `now`."""
    rules = list(
        session.execute(
            select(ScheduleRule).where(
                col(ScheduleRule.specialist_id).in_([u.id for u in specialists]),
                col(ScheduleRule.capacity) == 1,
            )
        ).scalars()
    )
    if not rules:
        return
    rows = []
    for r in rules:
        row = {c.name: getattr(r, c.name) for c in ScheduleRule.__table__.columns}  # type: ignore[attr-defined]
        row.update(
            id=uuid7(),
            valid_from=start.astimezone(SHANGHAI).date(),
            valid_to=now.astimezone(SHANGHAI).date(),
            created_at=start,
            updated_at=start,
        )
        rows.append(row)
    session.execute(insert(ScheduleRule), rows)
    ids = [r["id"] for r in rows]
    materialize(session=session, now=start, horizon_days=DAYS + 1, rule_ids=ids, fresh=True)
    session.execute(delete(Slot).where(col(Slot.rule_id).in_(ids), col(Slot.start_at) >= now))
    session.flush()


def _booked_at(sim: _Sim, slot: Slot) -> datetime:
    """When the place was booked: up to 40 hours ahead (after a reserved place's release),
    never before the month replayed, and before `now` for the slots still to come."""
    t = slot.start_at - timedelta(hours=sim.rng.uniform(2, 40))
    t = max(t, sim.now - timedelta(days=DAYS))
    return min(t, sim.now - timedelta(minutes=sim.rng.randint(1, 60)))


def _booking_story(
    sim: _Sim, slot: Slot, booker: User, specialist: User, patient: Callable[[], Patient]
) -> Story:
    """Booked a few days ahead by a county doctor; attended (arrived, fulfilled) or missed."""
    rng = sim.rng
    t = _booked_at(sim, slot)
    yield t
    b = scheduling.book(
        session=sim.session, slot_id=slot.id, by=booker, patient_id=patient().id, now=t
    )
    sim.bookings += 1
    if rng.random() < NOSHOW_SHARE:
        t = slot.end_at + timedelta(minutes=rng.randint(5, 120))
        yield t
        scheduling.mark(session=sim.session, booking_id=b.id, action="noshow", by=specialist, now=t)
        return
    t = slot.start_at - timedelta(minutes=rng.randint(0, 20))
    yield t
    scheduling.mark(session=sim.session, booking_id=b.id, action="arrive", by=specialist, now=t)
    t = slot.end_at + timedelta(minutes=rng.randint(0, 30))
    yield t
    scheduling.mark(session=sim.session, booking_id=b.id, action="fulfil", by=specialist, now=t)


def _start_bookings(sim: _Sim, cast: _Cast, start: datetime) -> None:
    """Bookings on the past month's slots of a few league specialists per league, and every
    slot of this week (Asia/Shanghai) of the first `BOOKED_OUT` of them."""
    rng = sim.rng
    chosen: list[tuple[_League, User]] = []
    for league in cast.leagues:
        for u in sorted(league.specialists, key=lambda u: u.username)[:SCHEDULED_PER_LEAGUE]:
            chosen.append((league, u))
    _past_slots(sim.session, [u for _, u in chosen], start, sim.now)
    today = sim.now.astimezone(SHANGHAI).date()
    monday = datetime.combine(today - timedelta(days=today.weekday()), time(), SHANGHAI)
    week_end = monday + timedelta(days=7)
    for k, (league, specialist) in enumerate(chosen):
        booked_out = k < BOOKED_OUT
        until = week_end if booked_out else sim.now
        slots = sim.session.execute(
            select(Slot)
            .where(
                Slot.specialist_id == specialist.id,
                col(Slot.capacity) == 1,
                col(Slot.status) == "active",
                col(Slot.start_at) >= start,
                col(Slot.start_at) < until,
            )
            .order_by(col(Slot.start_at))
        ).scalars()
        share = rng.uniform(*BOOKED_SHARE)
        county, doctors = league.counties[k % len(league.counties)]
        pool: list[Patient] = []

        def patient(county: Institution = county, pool: list[Patient] = pool) -> Patient:
            # a few patients take turns: one specialist's slots never overlap
            if len(pool) < PATIENTS_PER_SPECIALIST:
                pool.append(sim.patient(county, sim.at or sim.now))
            return pool[sim.bookings % len(pool)]

        for slot in list(slots):
            this_week = slot.start_at >= monday
            if not ((booked_out and this_week) or rng.random() < share):
                continue
            if slot.reserved and slot.start_at > sim.now and slot.release_at > sim.now:
                continue  # kept for family-doctor referrals until its release
            sim.start(_booking_story(sim, slot, doctors[0], specialist, patient))


# ---------------------------------------------------------------- entry point


def has_activity(session: Session, settings: Settings) -> bool:
    """True when this seeder ran already (its first demo patient is registered)."""
    counties = session.execute(
        select(Institution.county_code).where(
            Institution.tier == "county", col(Institution.county_code).is_not(None)
        )
    ).scalars()
    key = settings.security.secret_key
    marks = [rid.fingerprint(_patient_spec(0, cc).resident_id, key=key) for cc in counties if cc]
    if not marks:
        return False
    first = select(Patient.id).where(col(Patient.resident_id_hash).in_(marks)).limit(1)
    return session.execute(first).first() is not None


def _plans(
    cast: _Cast, rng: random.Random, start: datetime, now: datetime
) -> tuple[list[_ConsultPlan], list[_ReferralPlan]]:
    cons: list[_ConsultPlan] = []
    refs: list[_ReferralPlan] = []
    coordinator = cast.coordinator
    coordinated = [
        u
        for u in cast.regional
        if coordinator is not None and u.institution_id == coordinator.institution_id
    ]
    for k, league in enumerate(cast.leagues):
        ecg = [u for u in league.specialists if u.specialty_code == "electrophysiology"]
        acute = [u for u in league.specialists if u.specialty_code != "electrophysiology"]
        count = rng.randint(*CONSULTATIONS_PER_LEAGUE)
        # the last hours: requests waiting to be accepted or reported, a session going on
        recent = [
            now - timedelta(hours=rng.uniform(1, 30)),
            now - timedelta(hours=rng.uniform(1, 8)),
        ]
        if k < 2:
            recent.append(now - timedelta(minutes=rng.uniform(15, 35)))
        for n in range(count + len(recent)):
            county, doctors = rng.choice(league.counties)
            live = n == count + 2 or (n < count and rng.random() < ACUTE_SHARE)
            if live:  # emergencies: to the own league hospital or a regional hospital
                specialist = rng.choice(acute if rng.random() < 0.5 else cast.regional)
            else:
                specialist = rng.choice(ecg or league.specialists)
            at = (
                recent[n - count]
                if n >= count
                else _day_time(rng, start, rng.randrange(DAYS), live)
            )
            fate = _consultation_fate(rng) if n < count else "normal"
            redirect = None
            if (
                live
                and n < count
                and acute
                and coordinator is not None
                and coordinated
                and rng.random() < REDIRECT_SHARE
            ):
                # sent to the coordinator's regional hospital, which sends it on to the
                # league's own specialist
                specialist = rng.choice(coordinated)
                redirect = (coordinator, rng.choice(acute))
                fate = "normal"
            cons.append(
                _ConsultPlan(
                    at=at,
                    requester=rng.choice(doctors),
                    county=county,
                    specialist=specialist,
                    fate=fate,
                    acknowledge=rng.random() < 0.85,
                    pay=rng.random() < 0.8,
                    case=n,
                    redirect=redirect,
                )
            )
        for n in range(rng.randint(*UP_REFERRALS_PER_LEAGUE)):
            county, doctors = rng.choice(league.counties)
            r = rng.random()
            fate = "reject" if r < 0.12 else "cancel" if r < 0.17 else "normal"
            if fate == "normal" and rng.random() < DOWN_SHARE:
                fate = "down"
            refs.append(
                _ReferralPlan(
                    at=_day_time(rng, start, rng.randrange(DAYS), False),
                    referrer=rng.choice(doctors),
                    county=county,
                    league=league,
                    fate=fate,
                    close=rng.random() < 0.8,
                    case=n,
                )
            )
    return cons, refs


def seed_activity(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> dict[str, int]:
    """Replay ~30 days of consultations and referrals up to `now`; idempotent."""
    now = now or clock.now()
    if has_activity(session, settings):
        return {"consultations": 0, "referrals": 0, "patients": 0, "bookings": 0}
    rng = random.Random(RANDOM_SEED)
    cast = _cast(session, rng)
    if cast is None:
        return {"consultations": 0, "referrals": 0, "patients": 0, "bookings": 0}
    start = now - timedelta(days=DAYS)
    cons, refs = _plans(cast, rng, start, now)
    sim = _Sim(session=session, settings=settings, now=now, rng=rng)
    # stories start in time order, so patients are registered in a stable order
    starts: list[tuple[datetime, int, Callable[[], Story]]] = [
        (cp.at, i, partial(_consultation_story, sim, cp)) for i, cp in enumerate(cons)
    ]
    starts += [
        (rp.at, len(cons) + j, partial(_referral_story, sim, rp)) for j, rp in enumerate(refs)
    ]
    for _, _, make in sorted(starts, key=lambda x: (x[0], x[1])):
        sim.start(make())
    _start_bookings(sim, cast, start)
    sim.run()
    return {
        "consultations": sim.consultations,
        "referrals": sim.referrals,
        "patients": sim.patients,
        "bookings": sim.bookings,
    }
