"""Rules of scheduling: the public façade other domains and the routes call
(`from scheduling import service as scheduling_service`).

The rules live in modules named for what they hold: `scheduling.search` (slot search),
`scheduling.booking` (holding, booking, cancel/reschedule, attendance, reminders),
`scheduling.places` (taking and giving back places in slots, expiring holds;
`scheduling.placement` is its one-statement PostgreSQL write), `scheduling.waitlist`
(requests waiting for a freed place), `scheduling.access` (lookups, who sees a booking,
audited reads), `scheduling.policy` (who may see, manage and book what),
`scheduling.notices` (telling people about a booking), `scheduling.schedules` (weekly rules
and exceptions), `scheduling.eligibility` (who may use reserved capacity) and
`scheduling.references` (what a booking may reference). Imports go one way: booking ->
waitlist -> places -> access/policy/notices. This module re-exports them; patch a private
name in the module that holds it."""

from __future__ import annotations

from scheduling import eligibility
from scheduling.access import get_booking, get_slot, read_booking, slot_of, visible_booking
from scheduling.appointments import appointments_for
from scheduling.booking import (
    book,
    bookings_for,
    bookings_page,
    cancel_booking,
    hold_slot,
    mark,
    register_on_cancelled,
    reschedule,
    send_reminders,
)
from scheduling.eligibility import ReservedEligibility, register_reserved_eligibility
from scheduling.full_slots import known_full
from scheduling.notices import patient_language
from scheduling.placement import warm_up
from scheduling.places import release_expired_holds
from scheduling.policy import NOSHOW_WINDOW_DAYS, PATIENT_SERVICE_CLASSES, can_see_booking
from scheduling.references import ReferenceAccess, register_booking_reference
from scheduling.schedules import add_exception, create_rule, get_rule, list_rules, update_rule
from scheduling.search import count_slots, earliest_slots, search_slots, viewer_eligible
from scheduling.waitlist import (
    WAITLIST_OFFER_MINUTES,
    join_waitlist,
    leave_waitlist,
    offer_waitlist,
    read_waitlist_entry,
    visible_waitlist_entry,
    waitlist_for,
    waitlist_page,
)

_eligibility = eligibility.RESOLVERS  # the registered resolvers (tests remove their own)

__all__ = [
    "appointments_for",
    "warm_up",
    "known_full",
    "NOSHOW_WINDOW_DAYS",
    "PATIENT_SERVICE_CLASSES",
    "WAITLIST_OFFER_MINUTES",
    "ReferenceAccess",
    "ReservedEligibility",
    "add_exception",
    "book",
    "bookings_for",
    "bookings_page",
    "can_see_booking",
    "cancel_booking",
    "create_rule",
    "earliest_slots",
    "get_booking",
    "get_rule",
    "get_slot",
    "hold_slot",
    "join_waitlist",
    "leave_waitlist",
    "list_rules",
    "read_booking",
    "register_on_cancelled",
    "read_waitlist_entry",
    "mark",
    "offer_waitlist",
    "patient_language",
    "register_booking_reference",
    "register_reserved_eligibility",
    "release_expired_holds",
    "reschedule",
    "search_slots",
    "count_slots",
    "send_reminders",
    "slot_of",
    "update_rule",
    "viewer_eligible",
    "visible_booking",
    "visible_waitlist_entry",
    "waitlist_for",
    "waitlist_page",
]
