"""Slot search at full network scale: 131 hospitals x 30 specialists x 28 days of slots.

    python benchmarks/slot_search.py [--queries 300] [--slots-per-day 16]

Starts a throwaway PostgreSQL, migrates and seeds it, adds 30 specialists to each of the
131 network hospitals with 28 days of weekday slots (16 a day by default: ~1.26 M rows),
serves the app with uvicorn and times typical searches (`GET /api/v1/slots?specialty=..
&league=..`, earliest first, 20 results) against the equivalent hand-written SQL query
run through psycopg in the same run. Goal: endpoint p95 <= 2 x raw p95 + 10 ms.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime

from _scheduling_harness import database, percentile, server, summary  # type: ignore[import-not-found]

SPECIALTIES = [
    "internal_medicine", "cardiology", "respiratory", "gastroenterology", "neurology",
    "endocrinology", "general_surgery", "orthopedics", "neurosurgery", "obstetrics_gynecology",
    "pediatrics", "oncology", "emergency", "radiology", "ultrasound", "electrophysiology",
    "pathology", "rehabilitation",
]  # fmt: skip

RAW_SQL = """
SELECT id, institution_id, institution_name, specialist_id, specialist_name, specialty_code,
       title, service_class, start_at, end_at,
       CASE WHEN release_at <= %(now)s THEN capacity - booked
            ELSE capacity - reserved - (booked - reserved_booked) END AS remaining
FROM scheduling_slot
WHERE status = 'active' AND start_at > %(now)s
  AND specialty_code = %(specialty)s AND league_code = %(league)s
  AND CASE WHEN release_at <= %(now)s THEN capacity - booked
           ELSE capacity - reserved - (booked - reserved_booked) END > 0
ORDER BY start_at, id
LIMIT 20
"""


def populate(dsn: str, slots_per_day: int) -> tuple[int, int, list[str]]:
    import psycopg

    half = slots_per_day // 2
    with psycopg.connect(dsn, autocommit=True) as conn:
        hospitals = conn.execute(
            "SELECT count(*) FROM institution WHERE in_network AND tier IN "
            "('regional', 'league', 'county')"
        ).fetchone()[0]  # type: ignore[index]
        t = time.perf_counter()
        # Bulk load without the secondary indexes, then rebuild them (much faster).
        index_defs = [
            r[0]
            for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'scheduling_slot' "
                "AND indexname NOT LIKE 'pk_%%' AND indexname NOT LIKE 'uq_%%'"
            )
        ]
        index_names = [
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'scheduling_slot' "
                "AND indexname NOT LIKE 'pk_%%' AND indexname NOT LIKE 'uq_%%'"
            )
        ]
        for name in index_names:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute(
            """
            INSERT INTO user_account (id, username, password_hash, role, full_name,
                institution_id, specialty_code, title, is_active, must_change_password, created_at)
            SELECT gen_random_uuid(), 'bench-' || i.code || '-' || n, 'x', 'specialist',
                   '专家' || n, i.id, (%(specs)s::text[])[1 + (n %% 18)],
                   (ARRAY['chief_physician','associate_chief_physician',
                          'attending_physician','resident_physician'])[1 + (n %% 4)],
                   true, false, now()
            FROM institution i CROSS JOIN generate_series(1, 30) n
            WHERE i.in_network AND i.tier IN ('regional', 'league', 'county')
            """,
            {"specs": SPECIALTIES},
        )
        conn.execute(
            """
            INSERT INTO scheduling_slot (id, institution_id, specialist_id, specialty_code,
                service_class, title, league_code, tier, institution_name, specialist_name,
                start_at, end_at, capacity, reserved, release_at, booked, reserved_booked,
                status, created_at)
            SELECT gen_random_uuid(), u.institution_id, u.id, u.specialty_code,
                   CASE WHEN k < %(half)s THEN 'outpatient' ELSE 'consultation' END,
                   u.title, i.league_code, i.tier, i.name_zh, u.full_name,
                   x.t, x.t + interval '30 minutes', 1,
                   CASE WHEN k %% 5 = 4 THEN 1 ELSE 0 END,
                   x.t - interval '48 hours',
                   CASE WHEN k %% 5 <> 4 AND random() < 0.3 THEN 1 ELSE 0 END, 0,
                   'active', now()
            FROM user_account u
            JOIN institution i ON i.id = u.institution_id
            CROSS JOIN generate_series(0, 27) d
            CROSS JOIN generate_series(0, %(last)s) k
            CROSS JOIN LATERAL (
                SELECT (date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                        + d * interval '1 day'
                        + CASE WHEN k < %(half)s THEN interval '8 hours' + k * interval '30 min'
                               ELSE interval '14 hours' + (k - %(half)s) * interval '30 min' END
                       ) AT TIME ZONE 'Asia/Shanghai' AS t
            ) x
            WHERE u.username LIKE 'bench-%%'
              AND extract(isodow FROM (now() AT TIME ZONE 'Asia/Shanghai') + d * interval '1 day')
                  < 6
            """,
            {"half": half, "last": slots_per_day - 1},
        )
        for ddl in index_defs:
            conn.execute(ddl)
        conn.execute("ANALYZE")
        rows = conn.execute("SELECT count(*) FROM scheduling_slot").fetchone()[0]  # type: ignore[index]
        leagues = [r[0] for r in conn.execute("SELECT code FROM league ORDER BY code")]
        print(f"# generated {rows} slots in {time.perf_counter() - t:.1f} s", flush=True)
    return int(hospitals), int(rows), leagues


def token_for(url: str, username: str) -> str:
    from sqlmodel import Session, select

    from telemed.core import clock
    from telemed.core.db import get_engine
    from telemed.core.settings import get_settings
    from telemed.identity import service
    from telemed.identity.models import User

    with Session(get_engine()) as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one()
        tok, _ = service.issue_token(session=s, user=user, now=clock.now(), settings=get_settings())
        s.commit()
    return tok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--slots-per-day", type=int, default=16)
    args = ap.parse_args()
    import httpx
    import psycopg

    with database() as (url, dsn):
        hospitals, rows, leagues = populate(dsn, args.slots_per_day)
        token = token_for(url, "county-doctor")
        rnd = random.Random(11)
        cases = [(rnd.choice(SPECIALTIES), rnd.choice(leagues)) for _ in range(args.queries)]
        api_lat: list[float] = []
        raw_lat: list[float] = []
        floor_lat: list[float] = []
        empty = 0
        with server(url, workers=1) as base, psycopg.connect(dsn) as conn:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                for spec, league in cases[:20]:  # warm-up both paths
                    client.get("/api/v1/slots", params={"specialty": spec, "league": league})
                    conn.execute(RAW_SQL, {"now": datetime.now(UTC), "specialty": spec,
                                           "league": league}).fetchall()  # fmt: skip
                # interleave so both see the same machine load
                for spec, league in cases:
                    t = time.perf_counter()
                    r = client.get(
                        "/api/v1/slots", params={"specialty": spec, "league": league, "limit": 20}
                    )
                    api_lat.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text
                    empty += not r.json()
                    t = time.perf_counter()
                    conn.execute(
                        RAW_SQL, {"now": datetime.now(UTC), "specialty": spec, "league": league}
                    ).fetchall()
                    raw_lat.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    client.get("/api/v1/auth/me")
                    floor_lat.append(time.perf_counter() - t)
    api95, raw95 = percentile(api_lat, 95), percentile(raw_lat, 95)
    goal = 2 * raw95 + 0.010
    print(
        f"slot search: {hospitals} hospitals x 30 specialists x 28 days, {rows} slots, "
        f"{args.queries} searches (specialty + league, earliest first, 20 results)"
    )
    print(f"  GET /api/v1/slots over HTTP : {summary(api_lat)}  ({empty} empty results)")
    print(f"  baseline raw SQL (psycopg)  : {summary(raw_lat)}")
    print(f"  for scale, GET /auth/me     : {summary(floor_lat)}  (HTTP + auth floor of the app)")
    print(
        f"  p95 endpoint {api95 * 1000:.1f} ms vs goal 2 x raw p95 + 10 ms = {goal * 1000:.1f} ms:"
        f" {'met' if api95 <= goal else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
