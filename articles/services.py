"""A treatment's bookable services, as the booking app provides them.

Articles never imports booking (dependencies point booking -> articles), so the booking app registers the one
query that answers "which services can a patient book for this treatment?" from its ``AppConfig.ready()``.
Without it a treatment page simply lists no services.
"""

_query = None


def provide(query):
    """Register ``query(treatment)`` -> iterable of services, ordered for display."""
    global _query
    _query = query


def for_treatment(treatment):
    return list(_query(treatment)) if _query is not None else []
