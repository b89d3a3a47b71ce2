"""Lost races are not outages.

Under concurrency PostgreSQL may abort one of two transactions with a deadlock or a serialization
failure (psycopg2 raises both as OperationalError, like a dropped connection), and SQLite may report
"database is locked" after its timeout. Such a transaction did nothing; running it again is safe. The
booking workflow retries a few times, then answers "That time was just taken" instead of the outage page.
"""

import functools
import logging
import random
import time

from django.db import OperationalError, connection

from clinic.dberrors import describe, is_lost_race

logger = logging.getLogger(__name__)

ATTEMPTS = 3


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
