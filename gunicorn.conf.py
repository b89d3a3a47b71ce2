"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py clinic.wsgi`.

Every value can be changed from the environment (GUNICORN_BIND, GUNICORN_WORKERS, ...). The request limits
refuse oversized request lines (414) and headers (431) before Django sees them; Django itself refuses bodies
over DATA_UPLOAD_MAX_MEMORY_SIZE (400). See docs/security.md.
"""

import multiprocessing
import os


def _int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


wsgi_app = "clinic.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak can never take an instance down.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# --- Request limits: a longer request line gets 414, too many or too large headers get 431. ---------------
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 4094)  # bytes in "GET /path?query HTTP/1.1"
limit_request_fields = _int("GUNICORN_LIMIT_REQUEST_FIELDS", 50)  # number of headers
limit_request_field_size = _int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 8190)  # bytes in one header

# X-Forwarded-* headers are trusted only from the load balancer's addresses (comma-separated).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # empty: no access log
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# No query strings in the access log: search terms and links must not end up in log files.
# The private booking links carry a credential: the access log shows "/book/manage/[token]/" instead.
logger_class = "clinic.log_redaction.RedactingLogger"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
proc_name = "clinic"
