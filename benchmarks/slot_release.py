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

Then (unless --no-sweep) the sustained throughput: open-loop steps of --step-seconds at
each of --rates, alternating three subjects per step: the bookings (fresh patients, slots
with room for every attempt), the same app's `GET /api/v1/auth/me`, and the raw booking
statement (`UPDATE scheduling_slot SET booked = booked + 1 WHERE ... booked < capacity`,
committed, from a psycopg pool of 20 connections). Prints per step the p99 of the served
requests and the share refused; the rate at which p99 crosses 500 ms is read off it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from functools import partial
from typing import Any

from _scheduling_harness import database, durable, percentile, server  # type: ignore[import-not-found]


async def request(base: str, method: str, path: str, token: str, body: bytes | None) -> int:
    """One HTTP/1.1 request on a connection of its own (each patient is another phone);
    the status code. A bare asyncio client: httpx's pool costs O(connections) per request
    and, with thousands in flight, became the bottleneck of this benchmark itself."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Idempotency-Key: {uuid.uuid4().hex}\r\nConnection: close\r\n"
        )
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + (body or b""))
        await writer.drain()
        status = await reader.readline()
        await reader.read()  # headers and body, to the close
        return int(status.split()[1])
    finally:
        writer.close()


async def open_loop(
    base: str,
    method: str,
    path: str,
    tokens: list[str],
    bodies: list[dict] | None,  # type: ignore[type-arg]
    rate: float,
) -> list[tuple[int, float]]:
    """Send request i at t0 + i / rate whether or not earlier ones were answered;
    (code, latency from the scheduled send time)."""
    out: list[tuple[int, float]] = [(0, 0.0)] * len(tokens)
    encoded = [json.dumps(b).encode() for b in bodies] if bodies else None
    t0 = time.perf_counter() + 0.2

    async def one(i: int) -> None:
        at = t0 + i / rate
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        try:
            code = await request(base, method, path, tokens[i], encoded[i] if encoded else None)
        except (OSError, IndexError, ValueError):
            code = 0
        out[i] = (code, time.perf_counter() - at)

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


async def raw_loop(dsn: str, slots: list[str], n: int, rate: float) -> list[tuple[int, float]]:
    """The raw booking statement, `n` times at `rate`/s open loop (200: took a place)."""
    from psycopg_pool import AsyncConnectionPool

    take = (
        "UPDATE scheduling_slot SET booked = booked + 1 "
        "WHERE id = %s AND status = 'active' AND booked < capacity RETURNING id"
    )
    out: list[tuple[int, float]] = [(0, 0.0)] * n
    async with AsyncConnectionPool(dsn, min_size=20, max_size=20, open=False) as pool:
        await pool.wait()
        t0 = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            at = t0 + i / rate
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            async with pool.connection() as conn:
                cur = await conn.execute(take, (slots[i % len(slots)],))
                got = await cur.fetchone()
            out[i] = (200 if got else 409, time.perf_counter() - at)

        await asyncio.gather(*(one(i) for i in range(n)))
    return out


def sweep(base: str, dsn: str, rates: list[float], seconds: float, tokens: list[str]) -> None:
    from _booking_setup import make_slots  # type: ignore[import-not-found]

    print(f"  sustained: open-loop steps of {seconds:.0f} s (p99 of served, share refused)")
    used = 0
    for step, rate in enumerate(rates):
        n = int(rate * seconds)
        slots = make_slots(20, capacity=n, days_ahead=30 + step)
        raw_slots = make_slots(20, capacity=n, days_ahead=60 + step)
        bodies = [{"slot_id": slots[i % 20]} for i in range(n)]
        who = tokens[used : used + n]
        me_who = tokens[used + n : used + 2 * n]
        used += 2 * n
        subjects: dict[str, Any] = {
            "bookings": partial(open_loop, base, "POST", "/api/v1/bookings", who, bodies, rate),
            "/auth/me": partial(open_loop, base, "GET", "/api/v1/auth/me", me_who, None, rate),
            "raw statement": partial(raw_loop, dsn, raw_slots, n, rate),
        }
        order = list(subjects)
        order = order[step % 3 :] + order[: step % 3]  # no subject always goes first
        line = []
        for name in order:
            res = asyncio.run(subjects[name]())
            served = [lat for c, lat in res if c in (200, 201)]
            refused = sum(1 for c, _ in res if c not in (200, 201))
            line.append(
                f"{name} p99 {percentile(served, 99) * 1000:.0f} ms, "
                f"refused {100 * refused / len(res):.0f} %"
            )
        print(f"    {rate:5.0f}/s: " + "; ".join(line))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attempts", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--slots", type=int, default=200)
    ap.add_argument("--capacity", type=int, default=1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--durable", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--sweep", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--rates", default="50,100,200,400", help="sweep rates, per second")
    ap.add_argument("--step-seconds", type=float, default=3.0)
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")] if args.sweep else []
    sweep_tokens = int(sum(2 * r * args.step_seconds for r in rates))
    os.environ["TELEMED_BENCH_DURABLE"] = "1" if args.durable else "0"
    from _booking_setup import integrity, make_patients, make_slots  # type: ignore[import-not-found]

    with database() as (url, dsn):
        tokens = make_patients(2 * args.attempts + sweep_tokens)
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
                open_loop(
                    base,
                    "GET",
                    "/api/v1/auth/me",
                    tokens[args.attempts : 2 * args.attempts],
                    None,
                    args.rate,
                )
            )
            found = integrity()
            report(args, load, release, me, found)
            if rates:
                sweep(base, dsn, rates, args.step_seconds, tokens[2 * args.attempts :])
    if found["overbooked"] or found["double_in_slot"]:
        raise SystemExit("OVERBOOKED or DOUBLE BOOKED")


def report(
    args: argparse.Namespace,
    load: tuple[float, float, float],
    release: list[tuple[int, float]],
    me: list[tuple[int, float]],
    found: dict[str, int],
) -> None:
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


if __name__ == "__main__":
    main()
