from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient


def test_summary_reproduces_the_networks_published_scale(client: TestClient) -> None:
    s = client.get("/api/v1/network/summary").json()
    assert s["leagues"] == 12
    assert s["counties"] == 103
    assert s["network_hospitals"] == 131
    assert s["alliances"] == 177
    assert s["network_hospitals_by_tier"] == {"regional": 16, "league": 12, "county": 103}
    assert len(s["by_league"]) == 12
    assert sum(s["alliances_by_kind"].values()) == 177


def test_every_county_has_primary_institutions(client: TestClient) -> None:
    counties = set()
    for tier in ("township", "community"):
        offset = 0
        while True:
            page = client.get(
                "/api/v1/network/institutions",
                params={"tier": tier, "limit": 500, "offset": offset},
            ).json()
            counties |= {i["county_code"] for i in page["items"]}
            offset += 500
            if offset >= page["total"]:
                break
    assert len(counties) == 103


def test_alliances_cover_all_leagues(client: TestClient) -> None:
    leagues = set()
    for offset in (0, 100):
        page = client.get("/api/v1/network/alliances", params={"limit": 100, "offset": offset})
        leagues |= {a["league_code"] for a in page.json()["items"]}
    assert len(leagues) == 12


def test_institution_filters_and_detail(client: TestClient) -> None:
    r = client.get(
        "/api/v1/network/institutions",
        params={"league": "150100", "tier": "county", "specialty": "radiology"},
    )
    items = r.json()["items"]
    assert items and all(i["league_code"] == "150100" and i["tier"] == "county" for i in items)
    detail = client.get(f"/api/v1/network/institutions/{items[0]['id']}").json()
    assert "radiology" in {d["specialty_code"] for d in detail["departments"]}
    assert detail["alliance_ids"]


def test_bad_filter_is_422(client: TestClient) -> None:
    r = client.get("/api/v1/network/institutions", params={"tier": "galactic"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "tier"


def test_writes_are_admin_only(client: TestClient, login: Callable[[str], dict[str, str]]) -> None:
    body = {"code": "TEST-1", "name_zh": "测试医院", "tier": "county", "league_code": "150100"}
    assert client.post("/api/v1/network/institutions", json=body).status_code == 401
    r = client.post("/api/v1/network/institutions", json=body, headers=login("coordinator"))
    assert r.status_code == 403
    r = client.post("/api/v1/network/institutions", json=body, headers=login("admin"))
    assert r.status_code == 201, r.text
    bad = {**body, "code": "TEST-2", "league_code": "999999"}
    r = client.post("/api/v1/network/institutions", json=bad, headers=login("admin"))
    assert r.status_code == 422 and "league" in r.json()["detail"]


def test_demo_ae_title_is_registered(client: TestClient) -> None:
    page = client.get(
        "/api/v1/network/institutions", params={"county": "150122", "tier": "county"}
    ).json()
    detail = client.get(f"/api/v1/network/institutions/{page['items'][0]['id']}").json()
    assert "DEMO_COUNTY" in detail["ae_titles"]
