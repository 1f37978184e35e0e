"""Scheduling: schedules, slots, holds, bookings, waitlist, search, iCalendar/FHIR export.

The one calendar of the whole network (预约诊疗). Other domains call `scheduling.service`.
"""
