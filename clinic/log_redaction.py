"""Logs without secrets: a patient's private booking link is a credential, so its token is replaced
before a line is written — in gunicorn's access log (gunicorn.conf.py `logger_class`) and in Django's own
log records (the `redact_tokens` filter in settings.LOGGING). Which paths hold a token is registered by the
app that owns them (``registry.redact_after(prefix)`` in its ``AppConfig.ready()``)."""

import functools
import logging
import re
import time

from gunicorn.glogging import Logger

from . import registry


@functools.lru_cache(maxsize=8)
def _pattern(prefixes):
    return re.compile("(" + "|".join(re.escape(p) for p in prefixes) + r")[^/\s?]+") if prefixes else None


def redact(text):
    if not isinstance(text, str):
        return text
    pattern = _pattern(tuple(registry.redacted_prefixes()))
    return pattern.sub(r"\1[token]", text) if pattern else text


class RedactingLogger(Logger):
    """gunicorn's logger with a cheap access log: one fixed line format, written in batches.

    gunicorn's own `access()` builds a dictionary of every atom and every header and goes through `logging`
    once per request (about 80 µs); this formats one line (about 8 µs) and hands lines to the access log's
    handler at most once a second or every `BATCH` lines, and whenever a worker stops. At low traffic every
    line is written at once; under load a line waits at most until the next request a second later.
    The line: client "METHOD /path PROTOCOL" status bytes duration user-agent — no query string (search
    terms) and the private booking link's token replaced by [token].
    """

    BATCH = 64
    FLUSH_SECONDS = 1.0

    def __init__(self, cfg):
        self._lines, self._flushed_at = [], 0.0
        super().__init__(cfg)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r", "f"):
            if key in atoms:
                atoms[key] = redact(atoms[key])
        return atoms

    def access(self, resp, req, environ, request_time):
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict or self.cfg.syslog):
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else str(resp.status)
        path = redact(getattr(req, "path", None) or environ.get("PATH_INFO", ""))
        self._lines.append(
            f'{environ.get("REMOTE_ADDR", "-")} "{environ.get("REQUEST_METHOD", "-")} '
            f'{path} {environ.get("SERVER_PROTOCOL", "-")}" {status} '
            f"{getattr(resp, 'sent', None) or '-'} {int(request_time.total_seconds() * 1000)}ms "
            f'"{environ.get("HTTP_USER_AGENT", "-")}"'
        )
        now = time.monotonic()
        if len(self._lines) >= self.BATCH or now - self._flushed_at >= self.FLUSH_SECONDS:
            self.flush_access()
            self._flushed_at = now

    def flush_access(self):
        if self._lines:
            lines, self._lines = self._lines, []
            try:
                self.access_log.info("\n".join(lines))
            except Exception:  # noqa: BLE001  (a log that cannot be written must not fail a request)
                self.exception("access log write failed")

    def reopen_files(self):
        self.flush_access()
        super().reopen_files()


class RedactTokensFilter(logging.Filter):
    def filter(self, record):
        record.msg = redact(str(record.msg))
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        return True
