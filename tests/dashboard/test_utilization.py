"""Utilization on the network dashboard, checked against the seeded month of activity: every
figure recomputed here with plain SQL over the tables (not through the services), the
overloaded specialists of this week, the alliances' work sent outside, the filters, the CSV
export, and who may see it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlmodel import Session

from tests.support.activity import activity, activity_session  # noqa: F401

API = "/api/v1/dashboard/utilization"
WEEKS = {"from_week": "2026-W44", "to_week": "2026-W49"}  # the clock: Tue 2026-12-01 (W49)
SINCE = datetime(2026, 10, 25, 16, 0, tzinfo=UTC)  # Monday 2026-10-26 00:00 in Shanghai
UNTIL = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # Monday 2026-12-07 00:00 in Shanghai
WEEK = "to_char({} AT TIME ZONE 'Asia/Shanghai', 'IYYY-\"W\"IW')"

Key = tuple[str, str, str]


@pytest.fixture
def session(activity_session: Session) -> Session:  # noqa: F811
    """Here the session (and so `client`) is on the run's database with the month of
    activity (tests/support/activity.py), replayed once instead of once per test."""
    return activity_session


@pytest.fixture
def seeded(activity: dict[str, Any]) -> dict[str, int]:  # noqa: F811
    made: dict[str, int] = activity["made"]
    assert made["bookings"] > 100
    return made


def _sql(session: Session, query: str, **params: Any) -> list[Any]:
    return list(session.execute(text(query), {"since": SINCE, "until": UNTIL, **params}).all())


def _expected(session: Session) -> dict[Key, dict[str, Any]]:
    """Every figure of every (hospital, specialty, week), in plain SQL."""
    rows: dict[Key, dict[str, Any]] = {}

    def put(key: tuple[Any, ...], **figures: Any) -> None:
        k = (str(key[0]), key[1], key[2])
        rows.setdefault(k, {}).update(figures)

    slot_week = WEEK.format("s.start_at")
    for inst, spec, week, offered in _sql(
        session,
        f"""SELECT s.institution_id, s.specialty_code, {slot_week}, sum(s.capacity)
            FROM scheduling_slot s
            WHERE s.status = 'active' AND s.start_at >= :since AND s.start_at < :until
            GROUP BY 1, 2, 3""",  # noqa: S608 (constant fragments)
    ):
        put((inst, spec, week), offered=int(offered))
    for inst, spec, week, booked, used, noshows in _sql(
        session,
        f"""SELECT s.institution_id, s.specialty_code, {slot_week},
                   sum(CASE WHEN b.status IN ('booked', 'arrived', 'fulfilled', 'noshow')
                       THEN 1 ELSE 0 END),
                   sum(CASE WHEN b.status IN ('arrived', 'fulfilled') THEN 1 ELSE 0 END),
                   sum(CASE WHEN b.status = 'noshow' THEN 1 ELSE 0 END)
            FROM scheduling_booking b JOIN scheduling_slot s ON s.id = b.slot_id
            WHERE s.status = 'active' AND s.start_at >= :since AND s.start_at < :until
            GROUP BY 1, 2, 3""",  # noqa: S608 (constant fragments)
    ):
        put((inst, spec, week), booked=int(booked), used=int(used), noshows=int(noshows))
    t_week = WEEK.format("t.at")
    for inst, spec, week, action, n in _sql(
        session,
        f"""SELECT CASE WHEN t.action = 'redirect' THEN u.institution_id
                        ELSE c.receiving_institution_id END,
                   c.wanted_specialty, {t_week}, t.action, count(*)
            FROM consultation_transition t
            JOIN consultation c ON c.id = t.consultation_id
            LEFT JOIN user_account u ON u.id = t.by_id
            WHERE t.action IN ('accept', 'decline', 'redirect')
              AND t.at >= :since AND t.at < :until
            GROUP BY 1, 2, 3, 4""",  # noqa: S608 (constant fragments)
    ):
        name = {"accept": "accepted", "decline": "declined", "redirect": "redirected"}[action]
        put((inst, spec, week), **{f"consultations_{name}": int(n)})
    for at, start, field in (
        ("accepted_at", "submitted_at", "median_accept_minutes"),
        ("reported_at", "accepted_at", "median_report_minutes"),
    ):
        for inst, spec, week, median in _sql(
            session,
            f"""SELECT c.receiving_institution_id, c.wanted_specialty, {WEEK.format("c." + at)},
                       percentile_cont(0.5) WITHIN GROUP
                         (ORDER BY extract(epoch FROM c.{at} - c.{start}) / 60)
                FROM consultation c
                WHERE c.{at} >= :since AND c.{at} < :until AND c.{start} IS NOT NULL
                GROUP BY 1, 2, 3""",  # noqa: S608 (constant fragments)
        ):
            put((inst, spec, week), **{field: round(float(median), 1)})
    for inst, spec, week, up, down, completed, closed in _sql(
        session,
        f"""SELECT r.to_institution_id, coalesce(d.specialty_code, u.specialty_code, ''),
                   {WEEK.format("r.requested_at")},
                   sum(CASE WHEN r.direction = 'up' THEN 1 ELSE 0 END),
                   sum(CASE WHEN r.direction = 'down' THEN 1 ELSE 0 END),
                   sum(CASE WHEN r.status IN ('completed', 'closed') THEN 1 ELSE 0 END),
                   sum(CASE WHEN r.status = 'closed' THEN 1 ELSE 0 END)
            FROM referral r
            LEFT JOIN department d ON d.id = r.to_department_id
            LEFT JOIN user_account u ON u.id = r.to_specialist_id
            WHERE r.requested_at >= :since AND r.requested_at < :until
            GROUP BY 1, 2, 3""",  # noqa: S608 (constant fragments)
    ):
        put(
            (inst, spec, week),
            referrals_up=int(up),
            referrals_down=int(down),
            referrals_completed=int(completed),
            referrals_closed=int(closed),
        )
    return rows


FIGURES = [
    "offered",
    "booked",
    "used",
    "noshows",
    "consultations_accepted",
    "consultations_declined",
    "consultations_redirected",
    "median_accept_minutes",
    "median_report_minutes",
    "referrals_up",
    "referrals_down",
    "referrals_completed",
    "referrals_closed",
]
MEDIANS = ("median_accept_minutes", "median_report_minutes")


def _got(body: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    return {
        (r["institution_id"], r["specialty_code"], r["week"]): {f: r[f] for f in FIGURES}
        for r in body["rows"]
    }


def test_utilization_rows_match_the_seeded_activity_counted_in_sql(
    client: TestClient, login: Any, session: Session, seeded: dict[str, int]
) -> None:
    r = client.get(API, params=WEEKS, headers=login("coordinator"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["weeks"] == [f"2026-W{n}" for n in range(44, 50)]
    assert (body["current_week"], body["timezone"]) == ("2026-W49", "Asia/Shanghai")
    want = _expected(session)
    got = _got(body)
    assert set(got) == set(want)
    for key, figures in want.items():
        full = {f: (None if f in MEDIANS else 0) for f in FIGURES} | figures
        assert got[key] == full, key
    # the seeded month has every kind of figure, so none of the comparisons above is vacuous
    totals = body["totals"]
    for name in ("offered", "booked", "used", "noshows", "consultations_accepted"):
        assert totals[name] > 0, name
    assert totals["consultations_declined"] > 0 and totals["consultations_redirected"] > 0
    assert totals["referrals_up"] > totals["referrals_down"] > 0
    assert 0 < totals["booked_share"] < 1 and 0 < totals["closure_rate"] <= 1
    assert totals["booked"] == sum(f.get("booked", 0) for f in want.values())
    assert any(f.get("median_accept_minutes") for f in want.values())
    assert any(f.get("median_report_minutes") for f in want.values())
    row = next(x for x in body["rows"] if x["offered"])
    assert row["booked_share"] == round(row["booked"] / row["offered"], 4)
    assert row["specialty_name_zh"]  # the hospital's department name


def test_the_coordinator_sees_who_is_overloaded_this_week(
    client: TestClient, login: Any, session: Session, seeded: dict[str, int]
) -> None:
    body = client.get(API, params=WEEKS, headers=login("coordinator")).json()
    rule = body["overload_rule"]
    assert rule == {"booked_share": 0.9, "min_offered": 4, "open_worklist": 10}
    # this week: Monday 2026-11-30 00:00 to Monday 2026-12-07 00:00 in Shanghai
    load = {
        str(who): (int(offered), int(booked))
        for who, offered, booked in session.execute(
            text(
                """SELECT s.specialist_id, sum(s.capacity),
                          (SELECT count(*) FROM scheduling_booking b
                           JOIN scheduling_slot s2 ON s2.id = b.slot_id
                           WHERE s2.specialist_id = s.specialist_id AND s2.status = 'active'
                             AND s2.start_at >= :monday AND s2.start_at < :until
                             AND b.status IN ('booked', 'arrived', 'fulfilled', 'noshow'))
                   FROM scheduling_slot s
                   WHERE s.status = 'active' AND s.specialist_id IS NOT NULL
                     AND s.start_at >= :monday AND s.start_at < :until
                   GROUP BY s.specialist_id"""
            ),
            {"monday": datetime(2026, 11, 29, 16, 0, tzinfo=UTC), "until": UNTIL},
        ).all()
    }
    worklist = {
        str(who): int(n)
        for who, n in session.execute(
            text(
                """SELECT coalesce(assigned_specialist_id, proposed_specialist_id,
                                   chosen_specialist_id), count(*)
                   FROM consultation
                   WHERE state IN ('submitted', 'accepted', 'scheduled', 'in_session')
                   GROUP BY 1"""
            )
        ).all()
        if who is not None
    }
    expected = {
        who for who, (offered, booked) in load.items() if offered >= 4 and booked / offered >= 0.9
    } | {who for who, n in worklist.items() if n >= 10}
    got = {o["specialist_id"]: o for o in body["overloaded"]}
    assert expected and set(got) == expected
    for who, o in got.items():
        offered, booked = load.get(who, (0, 0))
        assert (o["offered"], o["booked"], o["open_worklist"]) == (
            offered,
            booked,
            worklist.get(who, 0),
        )
        assert o["name"] and o["institution_name_zh"]
        assert "booked_share" in o["reasons"]
    shares = [o["booked_share"] for o in body["overloaded"]]
    assert shares == sorted(shares, reverse=True)


def test_alliances_sending_work_outside_themselves(
    client: TestClient, login: Any, session: Session, seeded: dict[str, int]
) -> None:
    body = client.get(API, params=WEEKS, headers=login("admin")).json()

    def per_alliance(
        table: str, sent: str, sender: str, receiver: str
    ) -> dict[str, tuple[int, int]]:
        return {
            code: (int(total), int(out))
            for code, total, out in _sql(
                session,
                f"""SELECT a.code, count(*),
                           sum(CASE WHEN NOT EXISTS (
                               SELECT 1 FROM alliance_member m2
                               WHERE m2.alliance_id = a.id AND m2.institution_id = x.{receiver})
                           THEN 1 ELSE 0 END)
                    FROM {table} x
                    JOIN alliance_member m ON m.institution_id = x.{sender}
                    JOIN alliance a ON a.id = m.alliance_id
                    WHERE x.{sent} >= :since AND x.{sent} < :until
                      AND x.{receiver} IS NOT NULL
                    GROUP BY a.code""",  # noqa: S608 (constant fragments)
            )
        }

    cons = per_alliance(
        "consultation", "submitted_at", "requesting_institution_id", "receiving_institution_id"
    )
    refs = per_alliance("referral", "requested_at", "from_institution_id", "to_institution_id")
    got = {o["alliance_code"]: o for o in body["outside"]}
    assert set(got) == set(cons) | set(refs)
    for code, o in got.items():
        c_all, c_out = cons.get(code, (0, 0))
        r_all, r_out = refs.get(code, (0, 0))
        assert (o["consultations"], o["consultations_outside"]) == (c_all, c_out), code
        assert (o["referrals"], o["referrals_outside"]) == (r_all, r_out), code
        assert o["outside_share"] == round((c_out + r_out) / (c_all + r_all), 4)
    assert any(o["outside_share"] > 0 for o in body["outside"])
    shares = [o["outside_share"] for o in body["outside"]]
    assert shares == sorted(shares, reverse=True)


def test_league_alliance_and_week_filters_keep_their_rows(
    client: TestClient, login: Any, session: Session, seeded: dict[str, int]
) -> None:
    headers = login("coordinator")
    everything = client.get(API, params=WEEKS, headers=headers).json()
    league = next(r["league_code"] for r in everything["rows"] if r["booked"])
    only = client.get(API, params={**WEEKS, "league": league}, headers=headers).json()
    assert only["league"] == league and only["rows"]
    assert only["rows"] == [r for r in everything["rows"] if r["league_code"] == league]
    assert all(o["league_code"] == league for o in only["overloaded"])
    assert all(o["league_code"] == league for o in only["outside"])

    code, members = session.execute(
        text(
            """SELECT a.code, array_agg(m.institution_id::text) FROM alliance a
               JOIN alliance_member m ON m.alliance_id = a.id
               WHERE a.kind = 'county_medical_community' GROUP BY a.code
               ORDER BY count(*) DESC LIMIT 1"""
        )
    ).one()
    inside = client.get(API, params={**WEEKS, "alliance": code}, headers=headers).json()
    assert inside["rows"] == [r for r in everything["rows"] if r["institution_id"] in members]
    assert [o["alliance_code"] for o in inside["outside"]] in ([], [code])

    one = client.get(
        API, params={"from_week": "2026-W48", "to_week": "2026-W48"}, headers=headers
    ).json()
    assert one["weeks"] == ["2026-W48"]
    assert one["rows"] == [r for r in everything["rows"] if r["week"] == "2026-W48"]
    assert client.get(API, headers=headers).json()["weeks"] == [
        "2026-W46",
        "2026-W47",
        "2026-W48",
        "2026-W49",
    ]


def test_csv_export_for_excel_with_chinese_headers(
    client: TestClient, login: Any, session: Session, seeded: dict[str, int]
) -> None:
    headers = login("coordinator")
    body = client.get(API, params=WEEKS, headers=headers).json()
    r = client.get(API, params={**WEEKS, "format": "csv"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        'attachment; filename="utilization-2026-W44-2026-W49.csv"'
    )
    assert r.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0][:4] == ["周次", "周一日期", "盟市代码", "医院编码"]
    assert lines[0][8:12] == ["放号数", "预约数", "就诊数", "爽约数"]
    assert len(lines) == len(body["rows"]) + 1
    first = dict(zip(lines[0], lines[1], strict=True))
    row = body["rows"][0]
    assert first["周次"] == row["week"] and first["医院"] == row["institution_name_zh"]
    assert first["放号数"] == str(row["offered"]) and first["预约数"] == str(row["booked"])
    median = row["median_accept_minutes"]
    assert first["接收用时中位数(分钟)"] == ("" if median is None else str(median))
    # the same by content negotiation
    negotiated = client.get(API, params=WEEKS, headers={**headers, "Accept": "text/csv"})
    assert negotiated.content == r.content
    exports = session.execute(
        text(
            "SELECT count(*) FROM audit_event"
            " WHERE action = 'export' AND object_type = 'utilization'"
        )
    ).scalar_one()
    assert exports == 2


def test_only_coordinators_and_admins_see_utilization(client: TestClient, login: Any) -> None:
    r = client.get(API, headers=login("county-doctor"))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (
        client.get(API, params={"format": "csv"}, headers=login("county-doctor")).status_code == 403
    )
    assert client.get(API).status_code == 401
    assert client.get(API, headers=login("admin")).status_code == 200


def test_bad_weeks_and_filters_are_refused_as_problems(client: TestClient, login: Any) -> None:
    headers = login("coordinator")
    for params, code, field in (
        ({"from_week": "2026-49"}, "bad_week", "from_week"),
        ({"to_week": "2026-W54"}, "bad_week", "to_week"),
        ({"from_week": "2026-W49", "to_week": "2026-W48"}, "bad_range", "from_week"),
        ({"from_week": "2024-W01", "to_week": "2026-W01"}, "range_too_long", "to_week"),
        ({"league": "999999"}, "unknown_league", "league"),
        ({"alliance": "nope"}, "unknown_alliance", "alliance"),
    ):
        r = client.get(API, params=params, headers=headers)
        assert r.status_code == 422, params
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == code
        assert r.json()["errors"][0]["field"] == field


def test_the_number_of_queries_does_not_grow_with_the_rows(
    client: TestClient, login: Any, session: Session, clock: Any
) -> None:
    """Grouped in the database: a month of activity takes the statements of an empty week."""
    headers = login("coordinator")

    def statements(params: dict[str, str]) -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        conn = session.connection()
        event.listen(conn, "before_cursor_execute", count)
        try:
            assert client.get(API, params=params, headers=headers).status_code == 200
        finally:
            event.remove(conn, "before_cursor_execute", count)
        return len(seen)

    statements(WEEKS)  # the caller's token is then in the worker's cache (identity.token_cache)
    empty = statements({"from_week": "2030-W01", "to_week": "2030-W01"})
    full = statements(WEEKS)
    assert full == empty
