"""Telling database errors apart: a lost race is not an outage.

psycopg2 raises a deadlock or a serialization failure as OperationalError, exactly like a dropped
connection. Their SQLSTATE tells them apart; the log names it (never the message, which may quote values).
"""

from django.db import OperationalError

# serialization_failure, deadlock_detected, lock_not_available: this transaction lost a race; retrying is safe.
LOST_RACE_CODES = {"40001", "40P01", "55P03"}


def sqlstate(exc):
    cause = exc.__cause__ or exc
    return getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)


def is_lost_race(exc):
    if not isinstance(exc, OperationalError):
        return False
    # SQLite's "database is locked" after its busy timeout is the same kind of loss.
    return sqlstate(exc) in LOST_RACE_CODES or "database is locked" in str(exc)


def describe(exc):
    """e.g. "OperationalError/DeadlockDetected SQLSTATE 40P01"."""
    cause = exc.__cause__ or exc
    code = sqlstate(exc)
    return f"{type(exc).__name__}/{type(cause).__name__}" + (f" SQLSTATE {code}" if code else "")
