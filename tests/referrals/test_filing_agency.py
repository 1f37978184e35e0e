"""Cross-region filing (异地就医备案) against the local fake agency over real HTTP: the
envelope and signature it verifies, its decisions, its outages, expiry and the states."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from referrals import service
from referrals.agency import gateway_signature, signed_headers
from referrals.fake_agency import FakeAgency
from referrals.models import CrossRegionFiling, Referral
from referrals.states import FILING
from telemed.core.errors import InvalidTransition
from telemed.core.notifications import Notification
from telemed.core.settings import get_settings
from telemed.identity.models import Patient, User
from tests.referrals.agency_fixtures import (
    FIXMEDINS,
    PAASID,
    TOKEN,
    adapter_for,
    agency_settings,
    wait_for,
)
from tests.referrals.conftest import league_hospital, new_patient, up_referral, user_named


def _submitted(session: Session, clock, patient: Patient | None = None, **kw) -> Referral:  # type: ignore[no-untyped-def]
    """A referral from the county (league 150100) to the Baotou league hospital (150200)."""
    cd = user_named(session, "county-doctor")
    if patient is None:
        patient = new_patient(session, with_user=True)
        patient.institution_id = cd.institution_id
        patient.phone, patient.sms_consent_at = "13800000001", clock.at
    r = up_referral(
        session,
        clock,
        patient=patient,
        to_institution_id=league_hospital(session, "150200").id,
        **kw,
    )
    return service.transition(
        session=session,
        referral_id=r.id,
        action="submit",
        by=cd,
        now=clock.at,
        settings=get_settings(),
    )


def _filing(session: Session, r: Referral) -> CrossRegionFiling:
    f = service.filing_of(session=session, referral_id=r.id)
    assert f is not None
    return f


def _accepted(session: Session, clock, agency: FakeAgency) -> tuple[Referral, CrossRegionFiling]:  # type: ignore[no-untyped-def]
    """A referral whose filing the fake agency accepted."""
    settings = agency_settings(agency)
    r = _submitted(session, clock)
    service.send_due_filings(
        session=session, now=clock.at, settings=settings, adapter=adapter_for(settings)
    )
    f = _filing(session, r)
    assert f.status == "accepted"
    return r, f


def _told(session: Session, r: Referral, kind: str) -> list[Notification]:
    return [
        n
        for n in session.execute(select(Notification).where(Notification.kind == kind)).scalars()
        if n.data.get("referral_id") == str(r.id)
    ]


def test_the_envelope_and_its_signature_are_what_the_agency_verifies(
    session: Session, clock, agency: FakeAgency
) -> None:
    settings = agency_settings(agency)
    r = _submitted(session, clock)
    assert _filing(session, r).status == "submitted"
    counts = service.send_due_filings(
        session=session, now=clock.at, settings=settings, adapter=adapter_for(settings)
    )
    assert counts == {"accepted": 1, "rejected": 0, "retry": 0}
    [sent] = agency.requests
    assert sent["infno"] == "2501" and sent["insuplc_admdvs"] == "150100"
    assert len(sent["msgid"]) == 30 and sent["msgid"].startswith(FIXMEDINS)
    assert sent["fixmedins_code"] == FIXMEDINS and sent["infver"] == "V1.0"
    assert sent["opter"] == "county-doctor" and sent["opter_type"] == "1"
    refmedin = sent["input"]["refmedin"]
    assert refmedin["insu_optins"] == "150100" and refmedin["mdtrtarea_admdvs"] == "150200"
    assert refmedin["diag_code"] == "I20.9"
    assert refmedin["reflin_medins_no"] == league_hospital(session, "150200").code
    f = _filing(session, r)
    assert f.status == "accepted" and f.filing_number in agency.filings
    assert len(f.filing_number or "") == 30 and f.decided_at == clock.at
    assert f.reply is not None and f.reply["infcode"] == 0
    assert TOKEN not in json.dumps(f.reply) and f.agency_msgid == f.reply["inf_refmsgid"]


def test_a_wrongly_signed_stale_or_replayed_request_is_refused(
    session: Session, clock, agency: FakeAgency
) -> None:
    wrong = agency_settings(agency, token="not-the-token-the-agency-issued-to-us")
    r = _submitted(session, clock)
    assert service.send_due_filings(
        session=session, now=clock.at, settings=wrong, adapter=adapter_for(wrong)
    ) == {"accepted": 0, "rejected": 0, "retry": 1}
    assert agency.refused == ["bad signature"] and agency.requests == []
    f = _filing(session, r)  # our credentials, not the patient's filing: kept to send again
    assert f.status == "submitted" and "credentials refused (HTTP 401)" in (f.last_error or "")
    assert TOKEN not in (f.last_error or "")
    headers = signed_headers(PAASID, TOKEN)
    body = {"infno": "2501", "msgid": "x", "input": {}}
    first = httpx.post(agency.url, json=body, headers=headers)
    replay = httpx.post(agency.url, json=body, headers=headers)
    assert first.status_code == 200 and replay.status_code == 401
    stale = signed_headers(PAASID, TOKEN, at=1_000_000_000)
    assert httpx.post(agency.url, json=body, headers=stale).status_code == 401
    assert agency.refused[1:] == ["nonce replayed", "stale timestamp"]
    ts, nonce = headers["x-tif-timestamp"], headers["x-tif-nonce"]
    assert headers["x-tif-signature"] == gateway_signature(ts, TOKEN, nonce)


def test_accepted_stores_the_reference_and_tells_the_patient_and_the_doctor(
    session: Session, clock, agency: FakeAgency
) -> None:
    r, f = _accepted(session, clock, agency)
    told = _told(session, r, "filing.accepted")
    in_app = [n for n in told if n.channel == "in_app"]
    sms = [n for n in told if n.channel == "sms"]
    patient_user = session.execute(select(User).where(User.patient_id == r.patient_id)).scalar_one()
    assert {n.user_id for n in in_app} == {patient_user.id, r.from_doctor_id}
    mine = next(n for n in in_app if n.user_id == patient_user.id)
    assert mine.code == "filing.accepted" and mine.params["number"] == f.filing_number
    assert f.filing_number in mine.body
    assert [n.patient_id for n in sms] == [r.patient_id]  # the patient consented to SMS


def test_the_agency_rejects_with_its_reason(session: Session, clock, agency: FakeAgency) -> None:
    settings = agency_settings(agency)
    adapter = adapter_for(settings)
    agency.known_areas = frozenset({"150200"})  # the patient's 参保地 150100 unknown to it
    r = _submitted(session, clock)
    service.send_due_filings(session=session, now=clock.at, settings=settings, adapter=adapter)
    f = _filing(session, r)
    assert f.status == "rejected" and f.reason_code == "-1" and f.filing_number is None
    assert f.adapter_message == "参保地医保区划[150100]不存在"
    [told] = [
        n
        for n in _told(session, r, "filing.rejected")
        if n.code == "filing.rejected" and n.channel == "in_app"
    ]
    assert "参保地医保区划[150100]不存在" in told.body
    # mended at the agency and resubmitted: sent again under a new message id
    agency.known_areas = frozenset({"150100", "150200"})
    first_msgid = f.msgid
    service.resubmit_filing(session=session, filing=f, now=clock.at)
    service.send_due_filings(session=session, now=clock.at, settings=settings, adapter=adapter)
    assert f.status == "accepted" and f.msgid != first_msgid and f.reason_code is None


def test_missing_diagnosis_and_a_duplicate_filing_are_rejected(
    session: Session, clock, agency: FakeAgency
) -> None:
    settings = agency_settings(agency)
    adapter = adapter_for(settings)
    first = _submitted(session, clock)
    service.send_due_filings(session=session, now=clock.at, settings=settings, adapter=adapter)
    patient = session.get(Patient, first.patient_id)
    again = _submitted(
        session, clock, patient=patient, confirm_duplicate=True
    )  # same person, same hospital, same time
    undiagnosed = _submitted(session, clock)
    _filing(session, undiagnosed).diagnosis_code = ""
    counts = service.send_due_filings(
        session=session, now=clock.at, settings=settings, adapter=adapter
    )
    assert counts == {"accepted": 0, "rejected": 2, "retry": 0}
    assert "不能重复备案" in (_filing(session, again).adapter_message or "")
    assert _filing(session, undiagnosed).adapter_message == "诊断代码不能为空"


def test_an_agency_down_is_retried_later_and_nothing_is_lost(
    session: Session, clock, agency: FakeAgency
) -> None:
    settings = agency_settings(agency, backoff_seconds=60)
    adapter = adapter_for(settings)
    r = _submitted(session, clock)
    agency.down = True
    assert (
        service.send_due_filings(session=session, now=clock.at, settings=settings, adapter=adapter)[
            "retry"
        ]
        == 1
    )
    f = _filing(session, r)
    assert f.status == "submitted" and f.attempts == 1 and f.last_error
    assert f.next_attempt_at == clock.at + timedelta(seconds=60)
    msgid = f.msgid
    # not due yet: nothing is sent; the second failure waits twice as long
    assert service.send_due_filings(
        session=session, now=clock.at, settings=settings, adapter=adapter
    ) == {"accepted": 0, "rejected": 0, "retry": 0}
    clock.advance(seconds=61)
    service.send_due_filings(session=session, now=clock.at, settings=settings, adapter=adapter)
    assert f.attempts == 2 and f.next_attempt_at == clock.at + timedelta(seconds=120)
    agency.down = False
    clock.advance(seconds=121)
    service.send_due_filings(session=session, now=clock.at, settings=settings, adapter=adapter)
    assert f.status == "accepted" and f.msgid == msgid and len(agency.filings) == 1
    assert f.last_error is None and f.next_attempt_at is None


def test_a_slow_agency_answers_the_retry_of_the_same_message_once(
    session: Session, clock, agency: FakeAgency
) -> None:
    settings = agency_settings(agency, timeout_seconds=0.3)
    adapter = adapter_for(settings)
    r = _submitted(session, clock)
    agency.delay = 1.0  # longer than our timeout: we hear nothing, the agency files it
    assert (
        service.send_due_filings(session=session, now=clock.at, settings=settings, adapter=adapter)[
            "retry"
        ]
        == 1
    )
    wait_for(lambda: len(agency.filings) == 1)
    agency.delay = 0.0
    clock.advance(seconds=61)
    service.send_due_filings(session=session, now=clock.at, settings=settings, adapter=adapter)
    f = _filing(session, r)
    assert f.status == "accepted" and list(agency.filings) == [f.filing_number]


def test_an_accepted_filing_expires_after_its_last_valid_day(
    session: Session, clock, agency: FakeAgency
) -> None:
    r, f = _accepted(session, clock, agency)
    clock.advance(days=(f.valid_to - f.valid_from).days)
    assert service.expire_filings(session=session, now=clock.at) == 0  # its last valid day
    clock.advance(days=1)
    assert service.expire_filings(session=session, now=clock.at) >= 1
    assert f.status == "expired" and f.closed_at == clock.at
    assert any(n.code == "filing.expired" for n in _told(session, r, "filing.expired"))
    assert service.expire_filings(session=session, now=clock.at) == 0


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("submitted", "revoke"),
        ("submitted", "expire"),
        ("accepted", "accept"),
        ("accepted", "resubmit"),
        ("rejected", "accept"),
        ("expired", "revoke"),
        ("revoked", "resubmit"),
    ],
)
def test_illegal_filing_transitions_are_refused(state: str, action: str) -> None:
    with pytest.raises(InvalidTransition) as exc:
        FILING.next(state, action)
    assert exc.value.status == 409 and exc.value.extra["current_state"] == state


def test_production_without_an_agency_sends_nothing_and_keeps_the_filing(
    session: Session, clock
) -> None:
    from referrals.insurance import LocalFilingAdapter, build_adapter

    production = get_settings().model_copy(deep=True, update={"env": "production"})
    assert isinstance(build_adapter(get_settings()), LocalFilingAdapter)  # test: numbered here
    r = _submitted(session, clock)
    adapter = build_adapter(production)
    assert service.send_due_filings(
        session=session, now=clock.at, settings=production, adapter=adapter
    ) == {"accepted": 0, "rejected": 0, "retry": 1}
    f = _filing(session, r)
    assert f.status == "submitted" and "no filing agency configured" in (f.last_error or "")
