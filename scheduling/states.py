"""Booking and waitlist state machines (FHIR Appointment.status), as data."""

from __future__ import annotations

from telemed.core.states import StateMachine

BOOKING = StateMachine(
    "booking",
    {
        "confirm": ({"pending"}, "booked"),
        "cancel": ({"pending", "booked"}, "cancelled"),
        "expire": ({"pending"}, "cancelled"),
        "arrive": ({"booked"}, "arrived"),
        "fulfil": ({"arrived"}, "fulfilled"),
        "noshow": ({"booked"}, "noshow"),
    },
)

# A waitlist request (候补): FHIR Appointment `waitlist` while waiting or offered.
WAITLIST = StateMachine(
    "waitlist",
    {
        "offer": ({"waiting"}, "offered"),  # a freed place is held for it
        "accept": ({"offered"}, "done"),  # the offered hold was confirmed
        "lapse": ({"offered"}, "lapsed"),  # the offered hold expired unconfirmed
        "leave": ({"waiting", "offered"}, "cancelled"),  # the requester withdrew
    },
)
