"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py` (the app is config.wsgi).

Every value can be changed from the environment (GUNICORN_BIND, GUNICORN_WORKERS, ...). The request limits
refuse oversized request lines (414) and headers (431) before Django sees them; Django itself refuses bodies
over DATA_UPLOAD_MAX_MEMORY_SIZE (400). See docs/security.md. Why these values: README "Performance".
"""

import multiprocessing
import os
import resource


def _int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers, one per core (at least two): every request is short CPU work (the database and the cache answer
# in well under a millisecond), so more workers only queue on the same cores. Measured on 2 cores, home page,
# 8 connections, the machine otherwise idle (`make bench` with GUNICORN_WORKERS=2, 3, 4): 2 workers
# 2,180 req/s p99 7.0 ms; 3 workers 2,160 req/s p99 6.8 ms; 4 workers 1,740 req/s p99 9.2 ms.
worker_class = "sync"
workers = _int("GUNICORN_WORKERS", max(2, multiprocessing.cpu_count()))
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle a worker only when its memory grows past a limit (checked every 1,000 requests), never on a request
# count: a restart costs a fresh Python process and cold caches, and a busy site restarted workers every few
# seconds. GUNICORN_MAX_REQUESTS still adds the count-based recycling (0 = off).
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
max_worker_memory_mb = _int("GUNICORN_MAX_WORKER_MEMORY_MB", 512)

# --- Request limits: a longer request line gets 414, too many or too large headers get 431. ---------------
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 4094)  # bytes in "GET /path?query HTTP/1.1"
limit_request_fields = _int("GUNICORN_LIMIT_REQUEST_FIELDS", 50)  # number of headers
limit_request_field_size = _int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 8190)  # bytes in one header

# X-Forwarded-* headers are trusted only from the load balancer's addresses (comma-separated).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The access log goes to standard output ("-", collected by the service manager: journald, the container
# runtime) unless GUNICORN_ACCESSLOG names a file; empty turns it off. The logger class writes one short line
# per request in batches (see clinic/log_redaction.py): no query strings, private booking links redacted.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
logger_class = "clinic.log_redaction.RedactingLogger"
proc_name = "clinic"


def post_request(worker, req, environ, resp):
    """Every 1,000 requests, restart this worker gracefully if its peak memory passed the limit."""
    worker.handled = getattr(worker, "handled", 0) + 1
    if max_worker_memory_mb and worker.handled % 1000 == 0:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
        if peak_mb > max_worker_memory_mb:
            worker.log.info("worker %s uses %d MB: restarting it", worker.pid, peak_mb)
            worker.alive = False


def worker_exit(server, worker):
    """Write the access-log lines still waiting in this worker's batch."""
    flush = getattr(worker.log, "flush_access", None)
    if flush:
        flush()
