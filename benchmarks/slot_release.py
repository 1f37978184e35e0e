"""The 08:00 slot release: an open-loop crowd of distinct patients on a cold server.

    python benchmarks/slot_release.py [--attempts 5000] [--rate 500] [--slots 200]
                                      [--capacity 1] [--workers 2] [--durable/--no-durable]

A throwaway PostgreSQL (default durability: fsync and synchronous_commit on), migrated and
demo-seeded; `--slots` slots of one specialist just released; `--attempts` patients, each
with a token, each sending one `POST /api/v1/bookings` (with an Idempotency-Key) at a
fixed send time of an open-loop schedule (`--rate` per second, a request is sent at its
time whether or not earlier ones were answered). The server is started COLD after the data
is written: the first request is counted. Prints p50/p95/p99 of the admitted requests
(201), the latency of the refused ones (409 slot full, 429 busy, 503), the codes,
overbooked slots and double bookings. Baseline in the same run, on the same (then warm)
server: the same schedule of `GET /api/v1/auth/me` by other patients.
Goal: p99 < 500 ms for admitted, every refused answered within 100 ms, 0 overbooked,
0 double bookings. Quick check: --attempts 1000 --rate 200.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

from _scheduling_harness import database, durable, percentile, server  # type: ignore[import-not-found]


async def open_loop(
    base: str,
    method: str,
    path: str,
    tokens: list[str],
    bodies: list[dict] | None,
    rate: float,  # type: ignore[type-arg]
) -> list[tuple[int, float]]:
    """Send request i at t0 + i / rate (its own connection pool slot); (code, latency)."""
    import httpx

    limits = httpx.Limits(max_connections=4096, max_keepalive_connections=4096)
    out: list[tuple[int, float]] = [(0, 0.0)] * len(tokens)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        t0 = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            sent = time.perf_counter()
            try:
                r = await client.request(
                    method,
                    path,
                    json=bodies[i] if bodies else None,
                    headers={
                        "Authorization": f"Bearer {tokens[i]}",
                        "Idempotency-Key": uuid.uuid4().hex,
                    },
                )
                code = r.status_code
            except httpx.TransportError:
                code = 0
            # from the scheduled send time: a client that could not send on time waited too
            out[i] = (code, time.perf_counter() - min(sent, t0 + i / rate))

        await asyncio.gather(*(one(i) for i in range(len(tokens))))
    return out


def describe(name: str, results: list[tuple[int, float]], admitted: set[int]) -> None:
    codes: dict[int, int] = {}
    for c, _ in results:
        codes[c] = codes.get(c, 0) + 1
    ok = [lat for c, lat in results if c in admitted]
    other = [lat for c, lat in results if c not in admitted]

    def ms(v: list[float], p: float) -> str:
        return f"{percentile(v, p) * 1000:.0f}"

    print(f"  {name}: codes {dict(sorted(codes.items()))}")
    print(f"    admitted {len(ok)}: p50 {ms(ok, 50)} ms, p95 {ms(ok, 95)} ms, p99 {ms(ok, 99)} ms")
    if other:
        over = sum(1 for x in other if x > 0.1)
        print(
            f"    refused {len(other)}: p50 {ms(other, 50)} ms, p99 {ms(other, 99)} ms, "
            f"max {max(other) * 1000:.0f} ms, over 100 ms: {over}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attempts", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--slots", type=int, default=200)
    ap.add_argument("--capacity", type=int, default=1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--durable", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args()
    os.environ["TELEMED_BENCH_DURABLE"] = "1" if args.durable else "0"
    from _booking_setup import integrity, make_patients, make_slots  # type: ignore[import-not-found]

    with database() as (url, _dsn):
        tokens = make_patients(2 * args.attempts)
        slots = make_slots(args.slots, capacity=args.capacity)
        bodies = [{"slot_id": slots[i % len(slots)]} for i in range(args.attempts)]
        load = os.getloadavg()
        with server(url, workers=args.workers) as base:  # cold: nothing sent before
            release = asyncio.run(
                open_loop(
                    base, "POST", "/api/v1/bookings", tokens[: args.attempts], bodies, args.rate
                )
            )
            me = asyncio.run(
                open_loop(base, "GET", "/api/v1/auth/me", tokens[args.attempts :], None, args.rate)
            )
        found = integrity()
    print(
        f"slot release: {args.attempts} attempts at {args.rate:.0f}/s open loop "
        f"({args.attempts / args.rate:.1f} s), distinct patients, {args.slots} slots x "
        f"capacity {args.capacity}, uvicorn workers {args.workers}, server cold, PostgreSQL "
        f"{'durable (fsync, synchronous_commit on)' if durable() else 'fsync off'}, "
        f"load average before {load[0]:.2f}"
    )
    describe("bookings", release, {201})
    describe("baseline GET /auth/me (same schedule, warm)", me, {200})
    print(
        f"  bookings made {found['booked']} (places {args.slots * args.capacity}), "
        f"overbooked slots {found['overbooked']}, double bookings {found['double_in_slot']}"
    )
    if found["overbooked"] or found["double_in_slot"]:
        raise SystemExit("OVERBOOKED or DOUBLE BOOKED")


if __name__ == "__main__":
    main()
