"""What the apps contribute to the site-wide core, registered from their ``AppConfig.ready()``.

The core imports no app and names none. An app that wants something from it says so here:

* ``add_link(name, path)`` — a named page other apps may link to without knowing its app (``"book"``: where
  patients request an appointment); ``link(name, **query)`` gives its path, or None when no app provides it.
* ``disallow_in_robots(path)`` — a path search engines are asked to skip (robots.txt).
* ``redact_after(prefix)`` — a path whose next segment is a secret (a patient's private link): logs show
  ``[token]`` instead (clinic/log_redaction.py).

``path`` and ``prefix`` may be callables (e.g. ``lambda: reverse("app:view")``), resolved on first use, because
URLs cannot be reversed while apps are still loading.
"""

from urllib.parse import urlencode

_links = {}
_robots_disallow = []
_redacted_prefixes = []


def _resolve(value):
    return value() if callable(value) else value


def add_link(name, path):
    _links[name] = path


def link(name, **query):
    """The path of the page registered as ``name`` (with ``query`` appended), or None."""
    path = _links.get(name)
    if path is None:
        return None
    path = _resolve(path)
    return f"{path}?{urlencode(query)}" if query else path


def disallow_in_robots(path):
    if path not in _robots_disallow:
        _robots_disallow.append(path)


def robots_disallowed():
    return [_resolve(path) for path in _robots_disallow]


def redact_after(prefix):
    if prefix not in _redacted_prefixes:
        _redacted_prefixes.append(prefix)


def redacted_prefixes():
    # Asked for every access-log line: each callable is resolved once (a reverse() costs tens of µs) and kept.
    for i, prefix in enumerate(_redacted_prefixes):
        if callable(prefix):
            _redacted_prefixes[i] = prefix()
    return list(_redacted_prefixes)
