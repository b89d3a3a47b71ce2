"""Database errors and locks: telling a lost race from an outage, retrying it, and serialising on a key.

psycopg2 raises a deadlock or a serialization failure as OperationalError, exactly like a dropped
connection, and SQLite reports "database is locked" after its busy timeout. Such a transaction did nothing;
running it again is safe. Their SQLSTATE tells them apart; the log names it (never the message, which may
quote values).
"""

import functools
import hashlib
import logging
import random
import time

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

# serialization_failure, deadlock_detected, lock_not_available: this transaction lost a race; retrying is safe.
LOST_RACE_CODES = {"40001", "40P01", "55P03"}
ATTEMPTS = 3


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


def retry_lost_races(func=None, *, give_up=None):
    """Run `func` again (up to ATTEMPTS times) when its transaction lost a race; then raise `give_up()`
    if given, else the last error. Inside an outer transaction nothing can be retried: errors pass through."""
    if func is None:
        return functools.partial(retry_lost_races, give_up=give_up)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if not is_lost_race(exc) or connection.in_atomic_block:
                    raise
                logger.warning("%s lost a race (%s), attempt %d", func.__name__, describe(exc), attempt)
                if attempt == ATTEMPTS:
                    if give_up is not None:
                        raise give_up() from exc
                    raise
                time.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 (jitter, not security)
        return None  # pragma: no cover

    return wrapper


def transaction_lock(key):
    """Serialise transactions that name the same `key` (e.g. one mailbox) until the current transaction ends.

    PostgreSQL: a transaction-level advisory lock on a hash of the key. SQLite: every write transaction
    is IMMEDIATE (see settings), so it already holds the database's write lock; nothing more to do.
    """
    if connection.vendor != "postgresql":
        return
    number = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [number])
