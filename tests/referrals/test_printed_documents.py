"""The printed referral slip and contract in the patient's language, Mongolian included:
the PDF as poppler renders it shows Mongolian glyphs in vertical columns."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from referrals.family import contracts
from referrals.family.models import Contract
from referrals.models import Referral
from telemed.core.settings import get_settings
from telemed.identity.models import Patient
from tests.referrals.conftest import CONSENT, demo_team, up_referral, user_named
from tests.support.pdf_pages import assert_vertical_mongolian, box, embedded_fonts, ink, pages

Login = Callable[[str], dict[str, str]]
API = "/api/v1"


@pytest.fixture
def slip_and_contract(session: Session, clock) -> tuple[Referral, Contract]:  # type: ignore[no-untyped-def]
    pid = user_named(session, "patient").patient_id
    assert pid is not None
    contract = contracts.sign_contract(
        session=session, patient_id=pid, team_id=demo_team(session).id,
        package_codes=["hypertension"], by=user_named(session, "family-doctor"), now=clock.at,
        settings=get_settings(), consent=CONSENT,
    )  # fmt: skip
    referral = up_referral(
        session,
        clock,
        patient=session.get(Patient, pid),
        reason="胸痛待查，建议冠脉造影",
        clinical_summary="高血压十年，近一周胸痛加重。",
    )
    session.commit()
    return referral, contract


def _pdf(client: TestClient, url: str, headers: dict[str, str]) -> bytes:
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "no-store"
    return r.content


def test_the_patient_prints_a_mongolian_referral_slip(
    client: TestClient, login: Login, slip_and_contract: tuple[Referral, Contract]
) -> None:
    referral, _ = slip_and_contract
    url = f"{API}/referrals/{referral.id}/slip.pdf"
    mongolian = _pdf(client, f"{url}?lang=mn-Mong", login("patient"))
    assert_vertical_mongolian(mongolian)
    chinese = _pdf(client, url, login("patient"))  # no language chosen yet: zh-CN
    assert "NotoSansMongolian" not in embedded_fonts(chinese)
    assert b"STSong-Light" in chinese
    _, _, height, width = box(ink(pages(chinese)[0]))
    assert width > height * 0.5  # lines across the page
    english = _pdf(client, f"{url}?lang=en", login("county-doctor"))
    assert english != chinese


def test_the_contract_prints_in_mongolian_for_the_resident_and_the_team(
    client: TestClient, login: Login, slip_and_contract: tuple[Referral, Contract]
) -> None:
    _, contract = slip_and_contract
    url = f"{API}/family-doctors/contracts/{contract.id}/contract.pdf?lang=mn-Mong"
    assert_vertical_mongolian(_pdf(client, url, login("patient")))
    assert_vertical_mongolian(_pdf(client, url, login("family-doctor")))


def test_printed_documents_are_refused_to_outsiders_and_unknown_languages(
    client: TestClient, login: Login, slip_and_contract: tuple[Referral, Contract]
) -> None:
    referral, contract = slip_and_contract
    slip = f"{API}/referrals/{referral.id}/slip.pdf"
    assert client.get(slip, headers=login("specialist")).status_code == 404
    contract_url = f"{API}/family-doctors/contracts/{contract.id}/contract.pdf"
    assert client.get(contract_url, headers=login("specialist")).status_code == 404
    r = client.get(f"{slip}?lang=fr", headers=login("patient"))
    assert r.status_code == 422
