"""Booking rush: many concurrent clients over HTTP booking the same few slots.

    python benchmarks/booking_rush.py [--requests 2000] [--concurrency 64] [--slots 20]
                                      [--capacity 100] [--workers N] [--rounds 4]
                                      [--durable/--no-durable]

Starts a throwaway PostgreSQL, migrates and seeds it, serves the app with uvicorn and
fires `POST /api/v1/bookings` as PATIENTS booking for themselves (each request a distinct
patient, so only capacity limits them; the patient's path: no-show policy, account and
notification recipients) at a small set of one specialist's outpatient slots. PostgreSQL
runs with its default durability (fsync and synchronous_commit on; `--no-durable`: the
test suite's settings). Prints bookings/s, p50/p99 latency and
the number of overbooked slots (must be 0). Baseline in the same run: the same number of
requests to `POST /bench/plain-insert` (auth + one plain INSERT through the same session).
The requests are split into rounds that alternate baseline and bookings (each booking round
on its own share of the slots, so every round has the same mix of places and refusals):
both routes see the same load of a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid

from _booking_setup import make_patients, make_slots  # type: ignore[import-not-found]
from _scheduling_harness import database, durable, server, summary  # type: ignore[import-not-found]


def prepare(url: str, *, users: int, slots: int, capacity: int) -> tuple[list[str], list[str]]:
    """Create the patients (with tokens) and the specialist's released outpatient slots;
    return tokens and slot ids."""
    from sqlalchemy import text
    from sqlmodel import Session

    from telemed.core.db import get_engine

    with Session(get_engine()) as s:
        s.execute(
            text("CREATE TABLE bench_plain (id bigserial PRIMARY KEY, user_id text NOT NULL)")
        )
        s.commit()
    return make_patients(users), make_slots(slots, capacity=capacity)


async def fire(
    base_url: str,
    path: str,
    bodies: list[dict],
    tokens: list[str],
    concurrency: int,  # type: ignore[type-arg]
) -> tuple[float, list[float], dict[int, int]]:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    codes: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:

        async def one(body: dict, token: str) -> None:  # type: ignore[type-arg]
            async with sem:
                t = time.perf_counter()
                try:
                    r = await client.post(
                        path,
                        json=body,
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Idempotency-Key": uuid.uuid4().hex,
                        },
                    )
                    code = r.status_code
                except httpx.TransportError:  # counted, not fatal: a loaded machine drops some
                    code = 0
                latencies.append(time.perf_counter() - t)
                codes[code] = codes.get(code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one(b, tok) for b, tok in zip(bodies, tokens, strict=True)))
        elapsed = time.perf_counter() - t0
    return elapsed, latencies, codes


def overbooked(url: str) -> tuple[int, int]:
    from sqlalchemy import text

    from telemed.core.db import get_engine

    with get_engine().connect() as conn:
        bad = conn.execute(
            text(
                "SELECT count(*) FROM scheduling_slot s WHERE s.booked > s.capacity OR "
                "(SELECT count(*) FROM scheduling_booking b WHERE b.slot_id = s.id "
                "AND b.status IN ('pending','booked','arrived')) > s.capacity"
            )
        ).scalar_one()
        total = conn.execute(
            text("SELECT count(*) FROM scheduling_booking WHERE status = 'booked'")
        ).scalar_one()
    return int(bad), int(total)


def warm_booked(slot_id: str) -> int:
    from sqlalchemy import text

    from telemed.core.db import get_engine

    with get_engine().connect() as conn:
        return int(
            conn.execute(
                text("SELECT booked FROM scheduling_slot WHERE id = :s"), {"s": slot_id}
            ).scalar_one()
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--slots", type=int, default=20)
    ap.add_argument("--capacity", type=int, default=100, help="default: a place per request")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--durable", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="alternate baseline and booking rounds, so that both see the same machine load",
    )
    args = ap.parse_args()
    os.environ["TELEMED_BENCH_DURABLE"] = "1" if args.durable else "0"
    if args.slots % args.rounds or args.requests % args.rounds:
        raise SystemExit("--slots and --requests must be multiples of --rounds")
    warm = 100
    n = args.requests
    per_round, slots_per_round = n // args.rounds, args.slots // args.rounds
    with database() as (url, _dsn):
        # warm-up slots first, then each round's own slots of the same specialist
        tokens, slot_ids = prepare(
            url, users=2 * n + 2 * warm, slots=args.slots + 1, capacity=args.capacity
        )
        warm_slot, slot_ids = slot_ids[0], slot_ids[1:]
        rnd = random.Random(7)
        b_time = r_time = 0.0
        b_lat: list[float] = []
        r_lat: list[float] = []
        b_codes: dict[int, int] = {}
        r_codes: dict[int, int] = {}
        ratios: list[float] = []
        users = iter(tokens[2 * warm :])
        # The booking path itself is measured: the admission gate (slot_release.py measures
        # it) is opened wide, or the closed loop would count its cheap 429s as bookings/s.
        wide = {"TELEMED_SCHEDULING__BOOKING_IN_FLIGHT": str(max(args.concurrency, 16))}
        with server(url, workers=args.workers, **wide) as base:
            # warm-up both routes (not measured)
            asyncio.run(fire(base, "/bench/plain-insert", [{}] * warm, tokens[:warm], 16))
            asyncio.run(
                fire(
                    base,
                    "/api/v1/bookings",
                    [{"slot_id": warm_slot}] * warm,
                    tokens[warm : 2 * warm],
                    16,
                )
            )
            for r in range(args.rounds):
                mine = slot_ids[r * slots_per_round : (r + 1) * slots_per_round]
                bodies = [{"slot_id": rnd.choice(mine)} for _ in range(per_round)]
                booking_users = [next(users) for _ in range(per_round)]
                baseline_users = [next(users) for _ in range(per_round)]
                runs = [
                    ("baseline", "/bench/plain-insert", [{}] * per_round, baseline_users),
                    ("bookings", "/api/v1/bookings", bodies, booking_users),
                ]
                if r % 2:
                    runs.reverse()  # neither route always goes first
                took: dict[str, float] = {}
                for name, path, payloads, who in runs:
                    elapsed, lat, codes = asyncio.run(
                        fire(base, path, payloads, who, args.concurrency)
                    )
                    took[name] = elapsed
                    baseline = name == "baseline"
                    lat_list, code_map = (b_lat, b_codes) if baseline else (r_lat, r_codes)
                    lat_list.extend(lat)
                    for code, count in codes.items():
                        code_map[code] = code_map.get(code, 0) + count
                b_time += took["baseline"]
                r_time += took["bookings"]
                ratios.append(took["baseline"] / took["bookings"])
        bad, booked = overbooked(url)
        booked -= warm_booked(warm_slot)  # the warm-up's own bookings
    if set(b_codes) - {201}:
        raise SystemExit(f"baseline route failed, codes {b_codes}: the ratio would be meaningless")
    places = args.slots * args.capacity
    print(
        f"booking rush: {n} requests by patients in {args.rounds} alternating rounds, "
        f"{args.concurrency} concurrent clients, {args.slots} slots x capacity "
        f"{args.capacity} = {places} places, uvicorn workers {args.workers}, PostgreSQL "
        f"{'durable (fsync, synchronous_commit on)' if durable() else 'fsync off'}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"  bookings endpoint : {n / r_time:7.1f} req/s  ({summary(r_lat)})  codes {r_codes}")
    print(
        f"  successful bookings: {booked} (expected {min(places, n)}), "
        f"{booked / r_time:.1f} bookings/s"
    )
    print(f"  overbooked slots   : {bad}")
    print(f"  baseline plain INSERT: {n / b_time:7.1f} req/s  ({summary(b_lat)})  codes {b_codes}")
    print(f"  ratio per round: {', '.join(f'{x:.2f}' for x in ratios)}")
    print(f"  ratio (bookings req/s / baseline req/s): {b_time / r_time:.2f} (goal >= 0.7)")
    if bad:
        raise SystemExit("OVERBOOKED")


if __name__ == "__main__":
    main()
