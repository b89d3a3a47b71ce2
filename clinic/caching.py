"""The one door to the shared cache: versions and fail-open reads and writes.

Every value the site keeps in the shared cache (versions, free slots, the clinic's facts, the booking policy)
goes through here, so one rule holds everywhere; parts of pages live in ``fragment_cache()``, keyed on a version:

* **Fail open.** A cache that is down or misbehaving means "nothing cached": ``get`` answers ``default``,
  ``set``/``add``/``delete`` do nothing, and the page is rendered from the database. Redis is configured with
  ``IGNORE_EXCEPTIONS`` as well; the guard here covers any backend and is the only ``try`` around a cache call.
* **Versions, not deletions.** A *version* is a random token kept in the cache under ``version_key(name)``.
  Entries are either keyed on the current token (``version(name)`` inside the key) or store it beside the
  value (``get_versioned`` / ``set_versioned``). ``bump(name)`` replaces the token, so
  every server instance sharing the cache stops using the old entries at once.
* **Apps say what invalidates what.** The core names no app: each app calls ``bump_on_change(name, models)``
  from its ``AppConfig.ready()``; saving or deleting one of those models (or changing its many-to-many links)
  bumps the version immediately and again when the transaction commits.

Whole pages are not kept here: they say in HTTP headers how nginx or a CDN may keep them (cache_headers.py).
"""

import builtins
import logging
import uuid

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

logger = logging.getLogger(__name__)

VERSION_PREFIX = "version:"
# The version of everything public pages show; apps name the models that change it in AppConfig.ready().
CONTENT = "content"
_MISSING = object()


# --- Fail-open access ------------------------------------------------------------------------------------------


def _guarded(operation, default, *args):
    try:
        return getattr(cache, operation)(*args)
    except Exception:  # noqa: BLE001  (the one failure rule: a broken cache is an empty cache)
        logger.warning("shared cache unavailable (%s); carrying on without it", operation)
        return default


def get(key, default=None):
    found = _guarded("get", _MISSING, key, _MISSING)
    return default if found is _MISSING else found


def set(key, value, seconds):  # noqa: A001  (reads as caching.set)
    """Store ``value`` for ``seconds`` (None = until replaced)."""
    _guarded("set", None, key, value, seconds)


def add(key, value, seconds):
    """Store only if absent; True when stored."""
    return bool(_guarded("add", False, key, value, seconds))


def delete(key):
    _guarded("delete", None, key)


# --- Versions --------------------------------------------------------------------------------------------------


def version_key(name):
    return VERSION_PREFIX + name


def _new_token():
    return uuid.uuid4().hex[:16]


def version(name):
    """The current token of ``name``, created if missing (an evicted token must never revive old entries)."""
    key = version_key(name)
    token = get(key)
    if token is None:
        add(key, _new_token(), None)
        token = get(key) or _new_token()  # cache down: a token nothing is stored under
    return token


def bump(name):
    """Forget every entry under ``name`` on every server instance."""
    set(version_key(name), _new_token(), None)


def get_versioned(name, key):
    """``(value, current token)``; value is None when absent or stored under an older token."""
    token = version(name)
    entry = get(key)
    return (entry[1] if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == token else None), token


def set_versioned(key, value, token, seconds):
    """Store ``value`` as current for ``token`` (from ``get_versioned``)."""
    set(key, (token, value), seconds)


def content_version(request):
    """The current content version (for ``{% cache %}`` keys: see clinic.context_processors), read once a request."""
    if not hasattr(request, "_content_version"):
        request._content_version = version(CONTENT)
    return request._content_version


def fragment_cache():
    """Where parts of pages are kept, as {% cache %} picks it: each process's memory when configured, else shared."""
    return caches["template_fragments"] if "template_fragments" in settings.CACHES else cache


# --- Invalidation registry -------------------------------------------------------------------------------------

_watched = {}  # model label (app_label.model_name) -> set of version names


def bump_on_change(name, models):
    """Bump version ``name`` whenever one of ``models`` (classes or "app_label.model_name") changes."""
    for model in models:
        label = model if isinstance(model, str) else model._meta.label_lower
        _watched.setdefault(label.lower(), builtins.set()).add(name)
    _connect()


def names_for(sender):
    """Version names that a change to ``sender`` bumps (for tests and diagnostics)."""
    meta = getattr(sender, "_meta", None)
    return frozenset(_watched.get(meta.label_lower, ())) if meta is not None else frozenset()


def _model_changed(sender, **kwargs):
    action = kwargs.get("action")
    if action is not None and not action.startswith("post_"):
        return  # m2m_changed: act once, after the change
    names = names_for(sender)
    if not names:
        return

    def bump_all():
        for name in names:
            bump(name)

    bump_all()
    # Again after commit: a request that read the old rows while the transaction was open must not stay cached.
    transaction.on_commit(bump_all, using=kwargs.get("using"), robust=True)


def _connect():
    post_save.connect(_model_changed, dispatch_uid="caching_post_save")
    post_delete.connect(_model_changed, dispatch_uid="caching_post_delete")
    m2m_changed.connect(_model_changed, dispatch_uid="caching_m2m_changed")
