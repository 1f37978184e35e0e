"""Shared kernel: settings, database, errors, clock, audit, notifications, pagination.

Nothing in here imports a domain package.
"""
