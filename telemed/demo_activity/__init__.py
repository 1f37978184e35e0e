"""Demo activity: about 30 days of consultations and referrals across the network.

`telemed seed --demo` runs this after `telemed.seed.seed_demo` (skip it with
`--no-activity`); the test suite's database has none of it. Every request goes through
the domains' own service functions with `now` in the past, replayed in time order as one
simulation: each consultation or referral is a small story (a generator yielding the time
of its next step), and the service-level sweep runs at the moments the real one would have
noticed a missed deadline. So states, timestamps, deadlines, breaches, audit rows and
notifications are exactly what the real flows produce. Steps whose time has not come yet
are left undone: recent requests are still in progress.

Deterministic (fixed random seed, times relative to `now`) and idempotent: the first demo
patient it registers marks a database that already has the activity.
"""

from __future__ import annotations

from telemed.demo_activity.seed import has_activity, seed_activity

__all__ = ["has_activity", "seed_activity"]
