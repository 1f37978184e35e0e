"""SMART Scheduling Links (`$bulk-publish`): a manifest and Location, Schedule and Slot
NDJSON files of the publicly bookable capacity (what an anonymous viewer may book: the
family-doctor reserved share is left out until its release time). Generated per request
from the live slot table, so a poller always sees the current state."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fhir.resources.R4B.slot import Slot as FhirSlot
from sqlmodel import Session, col, select

from scheduling import fhir as scheduling_fhir
from scheduling import service as scheduling_service
from scheduling.models import ScheduleRule, Slot
from telemed.core.errors import NotFound
from telemed.fhir.resources.locations import location_resource
from telemed.network.models import Institution

KINDS = ("Location", "Schedule", "Slot")
PAGE = 500
MAX_SLOTS = 20_000  # one file's bound: slots beyond it wait for the next poll
CAPACITY_EXT = "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity"


def manifest(*, base: str, now: datetime) -> dict[str, Any]:
    """The bulk-publish manifest."""
    return {
        "transactionTime": now.isoformat(),
        "request": f"{base}/$bulk-publish",
        "output": [{"type": k, "url": f"{base}/$bulk-publish/{k.lower()}.ndjson"} for k in KINDS],
        "error": [],
    }


def public_slots(session: Session, now: datetime) -> list[tuple[Slot, int]]:
    """Slots with publicly bookable places left (viewer None), earliest first."""
    out: list[tuple[Slot, int]] = []
    offset = 0
    while len(out) < MAX_SLOTS:
        views = scheduling_service.search_slots(
            session=session, viewer=None, now=now, limit=PAGE, offset=offset
        )
        if not views:
            break
        rows = {
            s.id: s
            for s in session.execute(
                select(Slot).where(col(Slot.id).in_([v.id for v in views]))
            ).scalars()
        }
        out += [(rows[v.id], v.remaining) for v in views]
        offset += PAGE
    return out[:MAX_SLOTS]


def _slot(slot: Slot, remaining: int) -> dict[str, Any]:
    body = scheduling_fhir.slot_resource(slot, remaining=remaining)
    body["extension"] = [{"url": CAPACITY_EXT, "valueInteger": remaining}]
    return FhirSlot.model_validate(body).model_dump(mode="json", exclude_none=True)


def ndjson(*, session: Session, kind: str, now: datetime) -> str:
    """One NDJSON file: `location`, `schedule` or `slot`."""
    wanted = {k.lower(): k for k in KINDS}.get(kind)
    if wanted is None:
        raise NotFound(f"no bulk file {kind}.ndjson")
    slots = [(s, n) for s, n in public_slots(session, now) if s.rule_id is not None]
    lines: list[dict[str, Any]]
    if wanted == "Slot":
        lines = [_slot(s, n) for s, n in slots]
    elif wanted == "Location":
        ids = list(dict.fromkeys(s.institution_id for s, _ in slots))
        insts = {
            i.id: i
            for i in session.execute(
                select(Institution).where(col(Institution.id).in_(ids))
            ).scalars()
        }
        lines = [location_resource(insts[i]) for i in ids if i in insts]
    else:
        rule_ids = list(dict.fromkeys(s.rule_id for s, _ in slots))
        rules = {
            r.id: r
            for r in session.execute(
                select(ScheduleRule).where(col(ScheduleRule.id).in_(rule_ids))
            ).scalars()
        }
        lines = [scheduling_fhir.schedule_resource(rules[i]) for i in rule_ids if i in rules]
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
