"""Rules of scheduling: the public façade other domains and the routes call
(`from scheduling import service as scheduling_service`).

The rules live in modules named for what they hold: `scheduling.search` (slot search),
`scheduling.booking` (holds, bookings, the place-taking, cancel/reschedule, attendance,
reminders; `scheduling.placement` is its one-statement PostgreSQL write),
`scheduling.waitlist` (requests waiting for a freed place), `scheduling.schedules` (weekly
rules and exceptions), `scheduling.eligibility` (who may use reserved capacity) and
`scheduling.references` (what a booking may reference). This module re-exports them;
patch a private name in the module that holds it."""

from __future__ import annotations

from scheduling.booking import (
    NOSHOW_WINDOW_DAYS,
    PATIENT_SERVICE_CLASSES,
    book,
    bookings_for,
    bookings_page,
    can_see_booking,
    cancel_booking,
    get_booking,
    get_slot,
    hold_slot,
    mark,
    read_booking,
    release_expired_holds,
    reschedule,
    send_reminders,
    slot_of,
    visible_booking,
)
from scheduling.eligibility import ReservedEligibility, register_reserved_eligibility
from scheduling.eligibility import _eligibility as _eligibility  # the registered resolvers
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

__all__ = [
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
    "read_waitlist_entry",
    "mark",
    "offer_waitlist",
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
