"""Other requests' latency while 50 clients hammer the login route with wrong passwords.

    python benchmarks/login_abuse.py
    # options: --attackers 50 --others 4 --rate 40 --seconds 8 --rounds 2 --workers 1

A throwaway PostgreSQL, the demo seed, and uvicorn serving the app with the production
argon2 cost. `--others` clients call `GET /api/v1/auth/me` with a valid token, `--rate`
requests/s in
all on a fixed schedule (the normal traffic of a worker; a closed loop would saturate the
CPU by itself and measure only how the CPU is shared);
rounds alternate *baseline* (those clients alone) and *attack* (plus `--attackers`
clients posting wrong passwords, each from its own loopback address 127.0.1.x, spread
over the demo accounts and unknown usernames). Printed: the p95 of the other requests
in each phase and their ratio (goal <= 1.5), the login route's throughput and answers.

Three configurations are measured in the same run: the default one (throttle, hash
slots, refusals held 1-2 s in the event loop), the same with refusals held 0.5-1 s (the
default before 2026-12-03), and one with the throttle opened wide (free failures 10^6)
so that only the per-worker bound on concurrent hashes protects the others. The
addresses are real source addresses (no X-Forwarded-For: uvicorn trusts it only from
127.0.0.1 by default).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from multiprocessing import Event, Process, Queue
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("TELEMED_ENV", "test")
os.environ.setdefault("TELEMED_SECRET_KEY", "benchmark-secret-key-not-for-production")
os.environ.setdefault("TELEMED_LOG_LEVEL", "WARNING")
for _cheap in ("TELEMED_SECURITY__ARGON2_TIME_COST", "TELEMED_SECURITY__ARGON2_MEMORY_KIB"):
    os.environ.pop(_cheap, None)  # the production cost is what is measured

import httpx  # noqa: E402

from benchmarks._scheduling_harness import database, percentile, summary  # noqa: E402
from tests.support.uvicorn import serve  # noqa: E402

TARGETS = ["specialist", "specialist2", "coordinator", "county-doctor", "admin", "nobody"]


async def _others(base: str, token: str, n: int, rate: float, stop: asyncio.Event) -> list[float]:
    """n clients sending `rate` requests/s in all, on a fixed schedule (open loop: a slow
    answer does not lower the offered load, as with real users)."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    interval = n / rate
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:

        async def loop() -> None:
            due = time.perf_counter()
            while not stop.is_set():
                t = time.perf_counter()
                r = await c.get("/api/v1/auth/me")
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
                due += interval
                await asyncio.sleep(max(0.0, due - time.perf_counter()))

        await asyncio.gather(*(loop() for _ in range(n)))
    return latencies


async def _attacker(
    c: httpx.AsyncClient, i: int, stop: asyncio.Event, answers: Counter[int]
) -> None:
    k = 0
    while not stop.is_set():
        user = TARGETS[(i + k) % len(TARGETS)]
        r = await c.post(
            "/api/v1/auth/token", data={"username": user, "password": f"guess-{i}-{k}"}
        )
        answers[r.status_code] += 1
        k += 1
        if r.status_code == 429:  # a well-behaved client would wait; a bot does not
            await asyncio.sleep(0.05)


async def _attack(base: str, attackers: int, ready: Any, done: Any) -> tuple[Counter[int], float]:
    """The attackers' clients are made first (50 httpx clients cost about a second of CPU,
    which is the attacker's cost, not the server's), then `ready` is set, and they post
    until `done` is set; returns the answers and the seconds attacked."""
    stop = asyncio.Event()
    answers: Counter[int] = Counter()
    clients = [
        httpx.AsyncClient(
            base_url=base,
            transport=httpx.AsyncHTTPTransport(local_address=f"127.0.1.{1 + i}"),
            timeout=60,
        )
        for i in range(attackers)
    ]
    start = time.perf_counter()
    tasks = [asyncio.create_task(_attacker(c, i, stop, answers)) for i, c in enumerate(clients)]
    ready.set()
    await asyncio.to_thread(done.wait)  # a multiprocessing event: waited in a thread
    stop.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for c in clients:
        await c.aclose()
    return answers, elapsed


def _attack_process(base: str, attackers: int, ready: Any, done: Any, out: Queue) -> None:  # type: ignore[type-arg]
    answers, elapsed = asyncio.run(_attack(base, attackers, ready, done))
    out.put((dict(answers), elapsed))


async def _measure(base: str, token: str, others: int, rate: float, seconds: float) -> list[float]:
    stop = asyncio.Event()
    measured = asyncio.create_task(_others(base, token, others, rate, stop))
    await asyncio.sleep(seconds)
    stop.set()
    return await measured


def _phase(
    base: str, token: str, others: int, rate: float, attackers: int, seconds: float
) -> tuple[list[float], Counter[int], float]:
    """The other requests for `seconds`; with attackers, the attack runs in a process of
    its own (as it would from elsewhere), from 1 s before until the measurement ends."""
    if not attackers:
        return asyncio.run(_measure(base, token, others, rate, seconds)), Counter(), seconds
    out: Queue = Queue()  # type: ignore[type-arg]
    ready, done = Event(), Event()
    proc = Process(target=_attack_process, args=(base, attackers, ready, done, out))
    proc.start()
    assert ready.wait(timeout=120), "the attack did not start"
    time.sleep(1.0)  # let the attack reach its steady state first
    latencies = asyncio.run(_measure(base, token, others, rate, seconds))
    done.set()
    answers, elapsed = out.get(timeout=120)
    proc.join(timeout=60)
    return latencies, Counter(answers), elapsed


def _token(base: str) -> str:
    r = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": "specialist", "password": "telemed-demo"},
        timeout=60,
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


def _hash_cost() -> str:
    from telemed.identity.security import hash_password, verify_password

    h = hash_password("x")
    times = []
    for _ in range(5):
        t = time.perf_counter()
        verify_password(h, "y")
        times.append(time.perf_counter() - t)
    return f"{min(times) * 1000:.0f} ms min, {sorted(times)[2] * 1000:.0f} ms median"


def _forget_failures(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM throttle_counter"))
    engine.dispose()


def run(label: str, env: dict[str, str], args: argparse.Namespace) -> float:
    _forget_failures(env["TELEMED_DATABASE_URL"])
    with serve(env, workers=args.workers, start_timeout=240) as base:
        token = _token(base)
        base_lat: list[float] = []
        att_lat: list[float] = []
        total: Counter[int] = Counter()
        attack_seconds = 0.0
        for rnd in range(args.rounds):
            lat, _, _ = _phase(base, token, args.others, args.rate, 0, args.seconds)
            base_lat += lat
            lat, answers, elapsed = _phase(
                base, token, args.others, args.rate, args.attackers, args.seconds
            )
            att_lat += lat
            total += answers
            attack_seconds += elapsed
            print(
                f"  round {rnd + 1}: others p95 baseline {percentile(base_lat, 95) * 1000:.1f} ms,"
                f" under attack {percentile(lat, 95) * 1000:.1f} ms; logins {dict(answers)}",
                flush=True,
            )
        ratio = percentile(att_lat, 95) / percentile(base_lat, 95)
        logins = sum(total.values())
        print(f"{label}:")
        print(f"  other requests, baseline:     {summary(base_lat)} ({len(base_lat)} requests)")
        print(f"  other requests, under attack: {summary(att_lat)} ({len(att_lat)} requests)")
        print(f"  p95 ratio under attack / baseline: {ratio:.2f} (goal <= 1.5)")
        print(
            f"  login route: {logins / attack_seconds:.0f} answers/s, "
            f"{total[401] / attack_seconds:.1f} password checks/s (401), answers {dict(total)}"
        )
        return ratio


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--attackers", type=int, default=50)
    ap.add_argument("--others", type=int, default=4)
    ap.add_argument("--rate", type=float, default=40.0, help="other requests per second")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = ap.parse_args()
    with database() as (url, _dsn):
        print(f"# argon2 verification at the configured cost: {_hash_cost()}")
        print(f"# load average at start: {os.getloadavg()[0]:.1f}", flush=True)
        env = {**os.environ, "TELEMED_DATABASE_URL": url, "TELEMED_FRONTEND_DIR": str(ROOT)}
        env["TELEMED_DICOM__GATEWAY_ENABLED"] = "false"
        run("throttle + hash slots + held refusals (defaults)", env, args)
        shorter = {**env, "TELEMED_SECURITY__LOGIN_REFUSAL_DELAY_SECONDS": "1"}
        run("refusals held 0.5-1 s (the previous default)", shorter, args)
        wide = {
            **env,
            "TELEMED_SECURITY__ADDRESS_FREE_FAILURES": "1000000",
            "TELEMED_SECURITY__ACCOUNT_FREE_FAILURES": "1000000",
        }
        run("hash slots only (throttle opened wide)", wide, args)
        print(f"# load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
