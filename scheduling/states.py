"""Booking state machine (FHIR Appointment.status), as data."""

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
