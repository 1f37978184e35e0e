"""A patient's name in Mongolian script (typed on a phone keyboard) is stored NFC and found
by the family doctor's search however it was typed: 巴特尔 is found as ᠪᠠᠲᠦᠷ, with or
without variation selectors, with u for ü; a name not in Mongolian script is refused."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from telemed.identity import resident_id as rid
from telemed.identity.names import mongolian_key, normalize_mongolian_name

Login = Callable[[str], dict[str, str]]
_serial = itertools.count(501, 2)

BATUR = "ᠪᠠᠲᠦᠷ"
FVS1, MVS, NNBSP, ZWJ = "\u180b", "\u180e", "\u202f", "\u200d"


def _register(client: TestClient, login: Login, **body: Any) -> Any:
    number = rid.make("150122", date(1957, 8, 9), next(_serial))
    return client.post(
        "/api/v1/patients",
        json={"name": "巴特尔", "resident_id": number, **body},
        headers=login("family-doctor"),
    )


def _search(client: TestClient, login: Login, q: str) -> list[dict[str, Any]]:
    r = client.get("/api/v1/patients", params={"q": q}, headers=login("family-doctor"))
    assert r.status_code == 200, r.text
    return list(r.json())


def test_the_family_doctor_finds_batur_by_his_mongolian_name(
    client: TestClient, login: Login
) -> None:
    r = _register(client, login, name_mn=f"  {BATUR} ", preferred_language="mn-Mong")
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["name_mn"], created["preferred_language"]) == (BATUR, "mn-Mong")
    typed_ways = [
        BATUR,  # as registered
        "ᠪᠠᠲᠦ",  # a prefix
        "ᠪᠠᠲᠤᠷ",  # u for ü: the same form after the first syllable
        f"ᠪ{FVS1}ᠠᠲᠦᠷ",  # with a free variation selector
        f"ᠪᠠ{ZWJ}ᠲᠦᠷ",  # with a joiner
    ]
    for q in typed_ways:
        ids = [p["id"] for p in _search(client, login, q)]
        assert created["id"] in ids, q
    by_chinese = [p["id"] for p in _search(client, login, "巴特")]
    assert created["id"] in by_chinese
    assert created["id"] not in [p["id"] for p in _search(client, login, "ᠲᠡᠮᠦᠷ")]
    fhir = client.get(f"/fhir/R4/Patient/{created['id']}", headers=login("family-doctor")).json()
    [_, mongolian] = fhir["name"]
    assert mongolian["text"] == BATUR and mongolian["extension"][0]["valueCode"] == "mn-Mong"
    assert fhir["communication"][0]["language"]["coding"][0]["code"] == "mn-Mong"


def test_the_demo_patient_has_his_mongolian_name() -> None:
    # seeded as the contract of issue 24 writes it; his search key folds like any typed one
    assert mongolian_key(BATUR) == mongolian_key(f"ᠪᠠ{FVS1}ᠲᠤᠷ")


@pytest.mark.parametrize("name_mn", ["Batur", "巴特尔", "ᠪᠠᠲᠦᠷ1"])
def test_a_name_not_in_mongolian_script_is_refused(
    client: TestClient, login: Login, name_mn: str
) -> None:
    r = _register(client, login, name_mn=name_mn)
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_value" and r.json()["errors"][0]["field"] == "name_mn"


def test_an_unknown_preferred_language_is_refused(client: TestClient, login: Login) -> None:
    r = _register(client, login, preferred_language="mn")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "preferred_language"


def test_names_keep_the_suffix_joiner_and_the_vowel_separator() -> None:
    name = f"ᠰᠠᠷ{MVS}ᠠ{NNBSP}ᠶᠢᠨ"
    assert normalize_mongolian_name(f" {name}\t") == name  # what shapes the text is kept
    assert mongolian_key(name) == "ᠰᠠᠷᠠ ᠶᠢᠨ"  # the key drops it: typed with or without
    assert normalize_mongolian_name("  ") is None
