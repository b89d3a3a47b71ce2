"""Logs without secrets: the patient's private booking link is a credential, so its token is replaced
before a line is written — in gunicorn's access log (gunicorn.conf.py `logger_class`) and in Django's own
log records (the `redact_tokens` filter in settings.LOGGING)."""

import logging
import re

from gunicorn.glogging import Logger

_MANAGE_TOKEN = re.compile(r"(/book/manage/)[^/\s?]+")


def redact(text):
    return _MANAGE_TOKEN.sub(r"\1[token]", text) if isinstance(text, str) else text


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r", "f"):
            if key in atoms:
                atoms[key] = redact(atoms[key])
        return atoms


class RedactTokensFilter(logging.Filter):
    def filter(self, record):
        record.msg = redact(str(record.msg))
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        return True
