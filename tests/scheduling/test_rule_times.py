"""Rule times are local wall-clock times, accepted and returned as the schema says."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def rule_body(new_doctor):  # type: ignore[no-untyped-def]
    return {"specialist_id": str(new_doctor().id), "weekdays": [2]}


@pytest.mark.parametrize(
    "start",
    ["08:00:00+08:00", "08:00Z", "08:00:00.5", "8:00", "24:00", "08:60", "0800", "08:00:00:00"],
)
def test_a_zoned_fractional_or_malformed_time_is_422(client, login, rule_body, start) -> None:  # type: ignore[no-untyped-def]
    body = {**rule_body, "start_time": start, "end_time": "23:00"}
    r = client.post("/api/v1/schedules", json=body, headers=login("coordinator"))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "start_time"


def test_schema_and_answers_agree_on_the_time_format(client, login, rule_body) -> None:  # type: ignore[no-untyped-def]
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    pattern = schema["RulePublic"]["properties"]["start_time"]["pattern"]
    assert "format" not in schema["RulePublic"]["properties"]["start_time"]
    assert schema["RuleCreate"]["properties"]["start_time"]["pattern"] == pattern
    body = {**rule_body, "start_time": "08:00", "end_time": "11:30:00"}
    r = client.post("/api/v1/schedules", json=body, headers=login("coordinator"))
    assert r.status_code == 201, r.text
    assert (r.json()["start_time"], r.json()["end_time"]) == ("08:00:00", "11:30:00")
    assert re.fullmatch(pattern, r.json()["start_time"])
    changed = client.patch(
        f"/api/v1/schedules/{r.json()['id']}",
        json={"end_time": "12:00+08:00"},
        headers=login("coordinator"),
    )
    assert changed.status_code == 422, changed.text


def test_release_hours_and_weekdays_of_an_update_are_bounded(client, login, rule_body) -> None:  # type: ignore[no-untyped-def]
    body = {**rule_body, "start_time": "08:00", "end_time": "09:00"}
    rule = client.post("/api/v1/schedules", json=body, headers=login("coordinator")).json()
    for change in ({"release_hours_before": 2**63}, {"weekdays": list(range(8))}):
        r = client.patch(
            f"/api/v1/schedules/{rule['id']}", json=change, headers=login("coordinator")
        )
        assert r.status_code == 422, (change, r.text)
