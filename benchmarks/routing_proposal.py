"""Routing proposal at full network scale: 131 hospitals x 30 specialists x 28 days of slots.

    python benchmarks/routing_proposal.py [--queries 200] [--slots-per-day 16]

Same network as `slot_search.py` (throwaway PostgreSQL, migrated, demo seed, 30 specialists
per network hospital, 28 days of weekday slots). One uvicorn worker serves the app; one
client alternates, for random specialties, the proposal for a consultation routed from the
demo patient (`POST /api/v1/consultations/proposals`: candidates, earliest free slot of
each, routing tiers, 90-day service-level history, distances) with the slot search alone
for the same specialty and service class (`GET /api/v1/slots?specialty=..&service_class=
consultation`, earliest first, 20 results). Both go through HTTP and authentication.
Goal: proposal p95 <= 2 x slot-search p95.
"""

from __future__ import annotations

import argparse
import random
import time

from _scheduling_harness import database, percentile, server, summary  # type: ignore[import-not-found]
from slot_search import SPECIALTIES, populate, token_for  # type: ignore[import-not-found]


def demo_patient_id() -> str:
    """The demo patient of the county doctor (registered at the doctor's hospital)."""
    from sqlmodel import Session, select

    from telemed.core.db import get_engine
    from telemed.identity.models import Patient, User

    with Session(get_engine()) as s:
        doctor = s.execute(select(User).where(User.username == "county-doctor")).scalar_one()
        patient = (
            s.execute(
                select(Patient)
                .where(Patient.institution_id == doctor.institution_id)
                .order_by(Patient.created_at)
            )
            .scalars()
            .first()
        )
        assert patient is not None, "the demo seed has a patient at the county doctor's hospital"
        return str(patient.id)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--slots-per-day", type=int, default=16)
    args = ap.parse_args()
    import httpx

    with database() as (url, dsn):
        hospitals, rows, _ = populate(dsn, args.slots_per_day)
        token = token_for(url, "county-doctor")
        patient_id = demo_patient_id()
        rnd = random.Random(25)
        cases = [rnd.choice(SPECIALTIES) for _ in range(args.queries)]
        prop_lat: list[float] = []
        search_lat: list[float] = []
        candidates: list[int] = []
        with_slot = 0
        with server(url, workers=1) as base:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:

                def propose(spec: str) -> httpx.Response:
                    return client.post(
                        "/api/v1/consultations/proposals",
                        json={
                            "service_class": "consultation",
                            "wanted_specialty": spec,
                            "patient_id": patient_id,
                            "urgency": "routine",
                            "limit": 10,
                        },
                    )

                def search(spec: str) -> httpx.Response:
                    return client.get(
                        "/api/v1/slots",
                        params={"specialty": spec, "service_class": "consultation", "limit": 20},
                    )

                for spec in cases[:20]:  # warm-up both paths
                    propose(spec)
                    search(spec)
                for spec in cases:  # interleaved: both see the same machine load
                    t = time.perf_counter()
                    r = propose(spec)
                    prop_lat.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text
                    body = r.json()
                    candidates.append(len(body))
                    with_slot += sum(1 for p in body if p["earliest_slot_at"])
                    t = time.perf_counter()
                    r = search(spec)
                    search_lat.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text
    p95, s95 = percentile(prop_lat, 95), percentile(search_lat, 95)
    p50, s50 = percentile(prop_lat, 50), percentile(search_lat, 50)
    print(
        f"routing proposal: {hospitals} hospitals x 30 specialists x 28 days, {rows} slots, "
        f"{args.queries} proposals (random specialty, routed from the demo patient)"
    )
    print(
        f"  POST /consultations/proposals : {summary(prop_lat)}  "
        f"({sum(candidates) / len(candidates):.1f} proposals each, {with_slot} with a slot)"
    )
    print(f"  baseline GET /slots (search)  : {summary(search_lat)}")
    ratio = p95 / s95
    print(
        f"  ratio p50 {p50 / s50:.2f}x, p95 {ratio:.2f}x vs goal <= 2x: "
        f"{'met' if ratio <= 2 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
