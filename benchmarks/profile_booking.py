"""Profile of the patient's booking path: statements per booking and where the time goes.

    python benchmarks/profile_booking.py [--bookings 300] [--durable]

In one process (the app through Starlette's TestClient, one request at a time) against a
throwaway PostgreSQL: counts the SQL statements a patient's `POST /api/v1/bookings` sends
and the pool checkouts (each one a ping while pre-ping is on) and prints one booking's
statements. For where the time goes, run it under py-spy (all threads, as the app's
handlers run in worker threads):

    py-spy record --format raw -o /tmp/booking.txt -- python benchmarks/profile_booking.py
    python benchmarks/profile_booking.py --summarize /tmp/booking.txt
"""

from __future__ import annotations

import argparse
import os
import uuid

from _scheduling_harness import database  # type: ignore[import-not-found]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bookings", type=int, default=300)
    ap.add_argument("--durable", action="store_true", help="fsync and synchronous_commit on")
    ap.add_argument("--summarize", help="a py-spy raw (collapsed) profile: print its top items")
    args = ap.parse_args()
    if args.summarize:
        summarize(args.summarize)
        return
    if args.durable:
        os.environ["TELEMED_BENCH_DURABLE"] = "1"
    from _booking_setup import make_patients, make_slots  # type: ignore[import-not-found]

    with database() as (_url, _dsn):
        from fastapi.testclient import TestClient
        from sqlalchemy import event

        from telemed.app import create_app
        from telemed.core.db import get_engine

        tokens = make_patients(args.bookings + 20)
        slots = make_slots(args.bookings // 10 + 2, capacity=10)
        statements: list[str] = []
        statements_full: list[str] = []
        pings = [0]

        @event.listens_for(get_engine(), "before_cursor_execute")
        def _count(conn, cursor, stmt, params, context, many):  # type: ignore[no-untyped-def]
            statements.append(stmt.split(None, 1)[0].upper())
            statements_full.append(stmt)

        @event.listens_for(get_engine().pool, "checkout")
        def _checkout(*_a):  # type: ignore[no-untyped-def]
            pings[0] += 1

        with TestClient(create_app()) as client:
            for tok in tokens[:20]:  # warm-up: compiled statement caches, pool connections
                client.post(
                    "/api/v1/bookings",
                    json={"slot_id": slots[-1]},
                    headers={"Authorization": f"Bearer {tok}"},
                )
            statements.clear()
            statements_full.clear()
            pings[0] = 0
            codes: dict[int, int] = {}
            first: list[str] = []
            for i, tok in enumerate(tokens[20:]):
                r = client.post(
                    "/api/v1/bookings",
                    json={"slot_id": slots[i // 10]},
                    headers={"Authorization": f"Bearer {tok}", "Idempotency-Key": uuid.uuid4().hex},
                )
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
                if i == 0:
                    first = [" ".join(x.split())[:110] for x in statements_full]
        n = args.bookings
        kinds: dict[str, int] = {}
        for s in statements:
            kinds[s] = kinds.get(s, 0) + 1
        print(f"patient bookings: {n}, codes {codes}")
        print(
            f"statements per booking: {len(statements) / n:.2f} "
            f"({', '.join(f'{k} {v / n:.2f}' for k, v in sorted(kinds.items()))}); "
            f"pool checkouts per booking: {pings[0] / n:.2f} (each one a ping when pre-ping is on)"
        )
        print("one booking's statements:")
        for line in first:
            print("   ", line)


def summarize(path: str, top: int = 25) -> None:
    """Inclusive share of samples per function of our code, SQLAlchemy and the driver."""
    total = 0
    per: dict[str, int] = {}
    for line in open(path, encoding="utf-8"):
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if not any(k in f for f in frames for k in ("anyio/", "starlette/")):
            continue  # set-up (no request) and the client's side of the TestClient
        if not any(k in f for f in frames for k in ("telemed/", "scheduling/", "fastapi/")):
            continue  # idle threads
        if frames[-1].startswith(("wait ", "get (queue", "_wait_for_tstate_lock", "select ")):
            continue  # a thread waiting for work
        total += n
        seen = set()
        for f in frames:
            name = f.split(" (")[0] + " " + f.split("/")[-1].rstrip(")")
            if any(k in f for k in ("telemed/", "scheduling/")) or f.startswith("do_ping"):
                if name not in seen:
                    seen.add(name)
                    per[name] = per.get(name, 0) + n
    print(f"{total} samples of the app's threads at work; inclusive share:")
    for name, n in sorted(per.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
