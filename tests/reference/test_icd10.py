from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from telemed.core import clock
from telemed.core.errors import Invalid
from telemed.reference import service
from telemed.reference.models import Icd10Code

Login = Callable[[str], dict[str, str]]


def _codes(client: TestClient, headers: dict[str, str], q: str, **params: object) -> list[str]:
    r = client.get("/api/v1/reference/icd10", params={"q": q, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return [c["code"] for c in r.json()]


def test_the_seed_loads_the_starter_catalogue_with_every_chapter(session: Session) -> None:
    assert service.count(session=session) >= 250
    chapters = {c.chapter for c in session.query(Icd10Code).all()}
    assert len(chapters) >= 21  # every WHO chapter but XXII (special purposes)


def test_a_code_prefix_finds_the_category_and_its_subcodes_in_code_order(
    client: TestClient, login: Login
) -> None:
    h = login("county-doctor")
    got = _codes(client, h, "i21")
    assert got[0] == "I21"
    assert got[:3] == ["I21", "I21.0", "I21.1"]
    assert all(c.startswith("I21") for c in got)
    assert got == sorted(got)


def test_the_exact_code_comes_first_then_prefixes_then_names(
    client: TestClient, login: Login
) -> None:
    h = login("county-doctor")
    got = _codes(client, h, "I10")
    assert got[0] == "I10"
    body = client.get("/api/v1/reference/icd10", params={"q": "e11.9"}, headers=h).json()
    assert body[0] == {
        "code": "E11.9",
        "name_zh": "2型糖尿病不伴有并发症",
        "name_en": "Type 2 diabetes mellitus without complications",
        "chapter": "IV",
        "chapter_zh": "内分泌、营养和代谢疾病",
        "chapter_en": "Endocrine, nutritional and metabolic diseases",
    }
    # "C1" prefixes C15..C19 before any name containing "c1"
    got = _codes(client, h, "C1")
    assert got[:3] == ["C15", "C16", "C16.9"]


def test_chinese_and_english_names_match_by_substring(client: TestClient, login: Login) -> None:
    h = login("county-doctor")
    zh = _codes(client, h, "高血压")
    assert zh[:2] == ["I10", "I11"]
    assert "O14" in zh and "I15" in zh
    assert zh == sorted(zh)
    en = _codes(client, h, "PNEUMONIA")
    assert {"J15", "J18", "J18.9", "P23"} <= set(en)
    assert _codes(client, h, "心肌梗死")[0] == "I21"


def test_a_name_match_never_outranks_a_code_prefix(client: TestClient, login: Login) -> None:
    h = login("county-doctor")
    # "b" prefixes the B codes and is also inside many English names
    got = _codes(client, h, "b", limit=50)
    first_other = next(i for i, c in enumerate(got) if not c.startswith("B"))
    assert all(not c.startswith("B") for c in got[first_other:])


def test_limit_caps_the_answer(client: TestClient, login: Login) -> None:
    h = login("county-doctor")
    assert len(_codes(client, h, "I", limit=5)) == 5
    assert len(_codes(client, h, "I")) == 20


def test_like_wildcards_in_the_query_are_plain_text(client: TestClient, login: Login) -> None:
    h = login("county-doctor")
    assert _codes(client, h, "%") == []
    assert _codes(client, h, "_10") == []


def test_empty_or_too_long_queries_are_422_problems(client: TestClient, login: Login) -> None:
    h = login("county-doctor")
    for q in ("", "   ", "x" * 51):
        r = client.get("/api/v1/reference/icd10", params={"q": q}, headers=h)
        assert r.status_code == 422, q
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "q" in r.text
    r = client.get("/api/v1/reference/icd10", headers=h)
    assert r.status_code == 422
    r = client.get("/api/v1/reference/icd10", params={"q": "I", "limit": 0}, headers=h)
    assert r.status_code == 422


def test_search_needs_a_signed_in_user(client: TestClient) -> None:
    r = client.get("/api/v1/reference/icd10", params={"q": "I10"})
    assert r.status_code == 401
    assert client.get("/api/v1/reference/icd10/I10").status_code == 401


def test_one_code_by_its_code_any_case(client: TestClient, login: Login) -> None:
    h = login("patient")
    r = client.get("/api/v1/reference/icd10/k80.2", headers=h)
    assert r.status_code == 200
    assert r.json()["name_zh"] == "胆囊结石不伴有胆囊炎"
    r = client.get("/api/v1/reference/icd10/X99.9", headers=h)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_csv_import_inserts_new_codes_and_updates_names(session: Session) -> None:
    text = (
        "\ufeffcode,name_zh,name_en,chapter\n"
        "i10,特发性（原发性）高血压（更名）,Essential (primary) hypertension,IX\n"
        'J18.9,肺炎，未特指,"Pneumonia, unspecified",X\n'
        "E11.6,2型糖尿病伴有其他特指的并发症,Type 2 diabetes with other complications,\n"
    )
    result = service.import_csv(session=session, text=text, now=clock.now())
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert service.get(session=session, code="I10").name_zh.endswith("（更名）")
    new = service.get(session=session, code="E11.6")
    assert new.chapter == "IV"
    again = service.import_csv(session=session, text=text, now=clock.now())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_a_bad_csv_row_refuses_the_whole_import(session: Session) -> None:
    before = service.count(session=session)
    good = "A98,好行,Good row\n"
    bad = [
        "code,name_zh,name_en\n" + good + "Z9X.9,x,y\n",  # not a code
        "code,name_zh,name_en\n" + good + "A99.1,,y\n",  # no Chinese name
        "code,name_zh,name_en,chapter\n" + good + "A99.1,x,y,II\n",  # wrong chapter
        "code,name\nA99.1,x\n",  # header
    ]
    for text in bad:
        with pytest.raises(Invalid) as err:
            service.import_csv(session=session, text=text, now=clock.now())
        assert err.value.extra["errors"][0]["field"] == "file"
    assert service.count(session=session) == before
    assert "line 3" in str(
        pytest.raises(Invalid, service.parse_csv, bad[0]).value  # type: ignore[call-overload]
    )


def test_admins_import_over_the_api_others_are_refused(client: TestClient, login: Login) -> None:
    body = "code,name_zh,name_en\nA98.5,测试病名,Test disease\n".encode()
    headers = {"content-type": "text/csv"}
    r = client.post(
        "/api/v1/reference/icd10/import",
        content=body,
        headers={**headers, **login("county-doctor")},
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/reference/icd10/import", content=body, headers={**headers, **login("admin")}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 1, "updated": 0, "unchanged": 0}
    got = client.get("/api/v1/reference/icd10", params={"q": "测试病"}, headers=login("admin"))
    assert [c["code"] for c in got.json()] == ["A98.5"]
    r = client.post(
        "/api/v1/reference/icd10/import",
        content=b"code,name_zh,name_en\nnot-a-code,x,y\n",
        headers={**headers, **login("admin")},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"


def test_the_cli_imports_a_csv_file(committed_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from telemed.cli import app

    path = tmp_path / "extra.csv"
    path.write_text("code,name_zh,name_en\nA98.7,命令行导入,CLI import\n", encoding="utf-8")
    try:
        out = CliRunner().invoke(app, ["reference", "icd10", "import", str(path)])
        assert out.exit_code == 0, out.output
        assert "created 1" in out.output
        with Session(committed_engine) as s:
            assert service.get(session=s, code="A98.7").name_zh == "命令行导入"
        path.write_text("code,name_zh,name_en\nbad,x,y\n", encoding="utf-8")
        out = CliRunner().invoke(app, ["reference", "icd10", "import", str(path)])
        assert out.exit_code == 1
    finally:
        with Session(committed_engine) as s:
            row = s.get(Icd10Code, "A98.7")
            if row is not None:
                s.delete(row)
                s.commit()


def test_seeding_again_adds_missing_codes_but_keeps_imported_names(session: Session) -> None:
    service.import_csv(
        session=session,
        text="code,name_zh,name_en\nI10,原发性高血压,Hypertension\n",
        now=clock.now(),
    )
    row = session.get(Icd10Code, "J18.9")
    assert row is not None
    session.delete(row)
    session.flush()
    result = service.load_catalogue(session=session, now=clock.now())
    assert result.created == 1 and result.updated == 0
    assert service.get(session=session, code="I10").name_zh == "原发性高血压"
    assert service.get(session=session, code="J18.9").name_zh == "肺炎，未特指"
