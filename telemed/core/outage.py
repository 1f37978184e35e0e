"""When the database cannot serve right now: the errors that mean "try again later".

Kept apart from `telemed.core.db` (which opens sessions) and `telemed.core.errors` (which
answers problems) so that each can use it without importing the other."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

# Seconds a client is asked to wait (Retry-After) when the database is unreachable or busy.
DATABASE_RETRY_AFTER = 5
# PostgreSQL SQLSTATE classes meaning "not now": connection exception, insufficient
# resources (too many connections), operator intervention (shutdown, restart).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) means the database cannot serve right now: a lost
    or refused connection, an exhausted pool, a server shutting down, a locked SQLite file.
    Such errors are answered 503 with Retry-After, never 500."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, sa_exc.TimeoutError | sa_exc.PendingRollbackError):
            return True
        if isinstance(current, sa_exc.DBAPIError):
            if current.connection_invalidated:
                return True
            orig = current.orig
            sqlstate = getattr(orig, "sqlstate", None)
            if sqlstate:
                return str(sqlstate)[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
            if isinstance(current, sa_exc.OperationalError | sa_exc.InterfaceError):
                if type(orig).__module__.startswith("psycopg"):
                    return True  # no SQLSTATE: the connection itself failed
                return any(m in str(orig).lower() for m in _SQLITE_UNAVAILABLE)
            return False
        current = current.__cause__ or current.__context__
        seen += 1
    return False
