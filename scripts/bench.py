#!/usr/bin/env python
"""The site's benchmark (`make bench`): the site against a bare Django project on the same machine, in one run.

    python scripts/bench.py                        # SQLite (build/bench/), about 4 minutes
    DATABASE_URL=postgres://u@host/db python scripts/bench.py   # the site on PostgreSQL (database <db>_bench)
    python scripts/bench.py --site build/old-site  # the same bench against another checkout of the site
    python scripts/bench.py --duration 10 --port 9400

What it does:

1. The **floor**: ../shared/bench-floor (a bare Django 5.2 `startproject` with `/plain/` = `HttpResponse("ok")`
   and `/page/` = a small template over one query), migrated into build/bench/floor.sqlite3 and served by this
   virtualenv's Django and gunicorn.
2. The **site**: a fresh benchmark database (build/bench/bench.sqlite3, or `<name>_bench` beside the database in
   DATABASE_URL, dropped and created again), migrations, the content command, production settings (DEBUG off,
   hashed static files through whitenoise, Redis when REDIS_URL is set or one answers on 127.0.0.1:6379, under
   its own key prefix). Only the booking abuse limits are lifted: the bench posts hundreds of requests from one
   address.
3. Floor and site run side by side under **identical gunicorn flags** (`-c /dev/null -w 3`: 3 sync workers, no
   access log). Runs alternate, floor `/plain/` then a site target (A B A B … A), and each target is reported as
   a share of the mean of the floor runs just before and after it, so that load from other processes mostly
   cancels out. wrk (Debian package `wrk`) with 8 connections, 1 s warm-up, 5 s measured per run; the booking
   POST uses a small Python client (CSRF cookie + token, one free slot per request).
4. Targets at gunicorn (what nginx sends on a miss; Django keeps no whole pages): the article on the content
   alone, then `seed_bench_data` (500 articles, 20 practitioners, 10,000 bookings) and the article, the article
   list, home while staff save an article every second (each save renews the content version), booking POSTs;
   then the article under the shipped gunicorn.conf.py (only the bind address changed; worker restarts counted).
5. The **shipped stack**: nginx with deploy/nginx/clinic.conf (TLS with a certificate made here, its page
   cache) in front of that shipped gunicorn, run unprivileged from build/bench/nginx/; page-cache hits on home,
   article, treatment and article list over HTTPS. The bench's copy of the config exempts 127.0.0.1 from the
   per-client page rate (20 r/s, which would answer wrk with 429s), through the template's allow-list; nothing
   else differs. Hits are reported as multiples of the floor's /plain/.
6. The article page's weight on the wire, as a browser asks for it (Accept-Encoding: gzip, br).

Prints the table (and `--markdown` the README table) and writes build/bench/results.json (the previous results
are kept as results.prev.json). Budgets are reported, not enforced: this is a command, never a test in CI.
Record the machine's load with each run (`uptime` is printed); on a shared machine repeat when it is idle.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).parent / "gunicorn")
FLOOR_DIR = Path(os.environ.get("BENCH_FLOOR_DIR", ROOT.parent / "shared" / "bench-floor"))
LEAN_FLAGS = ["-c", "/dev/null", "-w", "3", "-k", "sync"]  # what both floor and site run under

BUDGETS = {
    "hit": 5.0,  # page-cache hits through nginx: at least 5 times the floor's /plain/
    "miss_500": 0.15,  # an article rendered by gunicorn (an nginx miss) with 500 articles in the database
    "list_500": 0.10,  # the article list rendered by gunicorn with 500 articles
    "shipped_cost": 0.10,  # the shipped gunicorn.conf.py: at most 10 % below the lean flags, on a miss
    "shipped_p99_ms": 50.0,
    "edit_p99_ms": 100.0,  # home page while staff edit content
    "post_rps": 100.0,  # booking POSTs (on PostgreSQL)
    "post_p95_ms": 100.0,
    "article_wire_kb": 8.0,
}

WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors": %d, "status_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load_average():
    with contextlib.suppress(OSError):
        return [round(x, 2) for x in os.getloadavg()]
    return []


# --- Databases and environments ---------------------------------------------------------------------------------


def _pg_admin(url):
    import psycopg2

    parts = urllib.parse.urlsplit(url)
    server = {
        "user": urllib.parse.unquote(parts.username or ""),
        "password": urllib.parse.unquote(parts.password or "") or None,
        "host": parts.hostname,
        "port": parts.port or 5432,
    }
    try:
        admin = psycopg2.connect(dbname=parts.path.lstrip("/") or "postgres", **server)
    except psycopg2.OperationalError:
        # The database named in DATABASE_URL need not exist: only its server and name are used.
        admin = psycopg2.connect(dbname="postgres", **server)
    admin.autocommit = True
    return admin


def bench_db_name(url):
    """`<database>_bench` beside the database in DATABASE_URL (so two people's benches never meet)."""
    default = (urllib.parse.urlsplit(url).path.lstrip("/") or "clinic") + "_bench"
    return os.environ.get("BENCH_DB_NAME", default)


def bench_database():
    """The benchmark database's URL, created empty (SQLite file, or a dedicated PostgreSQL database)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        name = bench_db_name(url)
        admin = _pg_admin(url)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path="/" + name)), "postgresql"
    path = BUILD / "bench.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}", "sqlite"


def drop_bench_database(db_url):
    url = os.environ.get("DATABASE_URL", "")
    if not db_url.startswith("postgres"):
        return
    admin = _pg_admin(url)
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{bench_db_name(url)}" WITH (FORCE)')
    admin.close()


def bench_cache():
    """(Redis URL or "", description)."""
    url = os.environ.get("REDIS_URL", os.environ.get("CACHE_URL", ""))
    if url:
        return url, "Redis (REDIS_URL)"
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 6379), timeout=0.3) as s:
        s.sendall(b"PING\r\n")
        if s.recv(16).startswith(b"+PONG"):
            return "redis://127.0.0.1:6379/0", "Redis (127.0.0.1:6379)"
    return "", "local memory (per worker; no Redis found)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def site_env(db_url, redis_url, port):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL") and not k.startswith("GUNICORN")}
    env.update(
        DEBUG="0",
        # A fresh Fernet key (32 random bytes, URL-safe base64) for the health records, as production has one.
        HEALTH_DATA_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=db_url,
        SITE_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="WARNING",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        # The bench posts hundreds of requests from one address in seconds: lift the abuse limits only.
        BOOKING_RATE_LIMIT="100000000",
        BOOKING_MAX_OPEN_PER_EMAIL="100000",
        BOOKING_MIN_SECONDS_TO_SUBMIT="0",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CACHE_KEY_PREFIX"] = f"clinic-bench-{uuid.uuid4().hex[:8]}"  # never meets another site's keys
    return env


def floor_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN", "DJANGO"))}
    env.update(FLOOR_DB=str(BUILD / "floor.sqlite3"), PYTHONUNBUFFERED="1")
    return env


def manage(site, env, *args, quiet=True):
    started = time.perf_counter()
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=site, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        log(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    if not quiet:
        log(result.stdout.strip())
    return time.perf_counter() - started


# --- Helpers run inside the site's environment (child processes) ----------------------------------------------


def _django(site):
    sys.path.insert(0, site)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def probe(site):
    """Ids for the URLs and a pool of free slots (printed as JSON)."""
    _django(site)
    from articles.models import Article, Treatment
    from booking.forms import encode_slot
    from booking.models import Service, VisitType
    from booking.scheduling.availability import slots_for
    from clinic.models import Location

    service = Service.objects.filter(slug="bench-any-60").first()  # seed_bench_data makes it
    location = Location.objects.filter(is_active=True).order_by("order", "pk").first()
    free = slots_for(service, VisitType.IN_CLINIC) if service else {}
    pool = [encode_slot(start) for start, pids in sorted(free.items()) for _ in pids]
    article = Article.objects.published().order_by("-published_at").first()
    treatment = Treatment.objects.order_by("order", "pk").first()
    print(
        json.dumps(
            {
                **front_desk_day(),
                "service_slug": service.slug if service else "",
                "service_id": service.pk if service else "",
                "location_id": location.pk if location else "",
                "article": article.get_absolute_url(),
                "treatment": treatment.get_absolute_url(),
                "slot_pool": pool,
            }
        )
    )


def front_desk_day():
    """A signed-in superuser's session cookie and the busiest day ahead, for the day calendar's target."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.utils import timezone
    from django.utils.module_loading import import_string

    from booking.models import Booking

    user = get_user_model().objects.filter(username="bench-desk").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-desk", "desk@example.com", secrets.token_urlsafe(16))
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    # The backend that signs people in (the first one, django-axes, only guards the sign-in form).
    backend = next(path for path in settings.AUTHENTICATION_BACKENDS if hasattr(import_string(path), "get_user"))
    session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    busiest = (
        Booking.objects.filter(start__gte=timezone.now())
        .annotate(day=TruncDate("start", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("-n", "day")
        .first()
    )
    day = busiest["day"] if busiest else timezone.localdate()
    return {
        "desk_cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
        "calendar": f"/{settings.ADMIN_URL}booking/booking/schedule/day/?date={day.isoformat()}",
        "calendar_bookings": busiest["n"] if busiest else 0,
    }


def edit_loop(site, every):
    """Save an article every `every` seconds (a staff edit: each save renews the content version) until killed."""
    _django(site)
    from articles.models import Article

    article = Article.objects.published().order_by("-published_at").first()
    while True:
        article.save()
        time.sleep(every)


def run_probe(site, env):
    result = subprocess.run(child(site, env, "--probe"), cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode:
        log(result.stdout + result.stderr)
        raise SystemExit("probe failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def child(site, env, *args):
    return [PYTHON, str(Path(__file__).resolve()), *args, "--site", str(site)]


# --- Servers ----------------------------------------------------------------------------------------------------


class Server:
    def __init__(self, name, cwd, env, args, port):
        self.name, self.port = name, port
        self.logpath = BUILD / f"{name}.log"
        self.logfile = open(self.logpath, "w")  # noqa: SIM115  (closed by stop)
        self.proc = subprocess.Popen(
            [GUNICORN, *args, "-b", f"127.0.0.1:{port}"],
            cwd=cwd,
            env=env,
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path):
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name}: gunicorn exited; see {self.logpath}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                response, _ = get("127.0.0.1", self.port, path)
                if response.status == 200:
                    return self
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"{self.name}: not ready in 60 s; see {self.logpath}")

    def workers_booted(self):
        self.logfile.flush()
        return self.logpath.read_text(errors="replace").count("Booting worker")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.logfile.close()


class Nginx:
    """The shipped deploy/nginx/clinic.conf in front of the shipped gunicorn, with 127.0.0.1 on the template's rate
    allow-list (wrk sends everything from there; the shipped 20 r/s would answer 429s). Nothing else differs."""

    def __init__(self, upstream_port, https_port, http_port):
        sys.path.insert(0, str(ROOT / "deploy"))
        import render_nginx

        self.port = https_port
        run_dir = BUILD / "nginx"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        cert, key = render_nginx.make_certificate(run_dir, "127.0.0.1")
        site = render_nginx.render(
            server_name="127.0.0.1", upstreams=[f"127.0.0.1:{upstream_port}"], cert=cert, key=key,
            http_port=http_port, https_port=https_port, cache_dir=run_dir / "cache", rate_limit_exempt=["127.0.0.1"],
        )  # fmt: skip
        self.proc = render_nginx.start_standalone(run_dir, site)
        deadline = time.time() + 15
        while time.time() < deadline:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if get("127.0.0.1", self.port, "/healthz", tls=True)[0].status == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"nginx did not start; see {run_dir / 'error.log'}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


# --- Load clients -----------------------------------------------------------------------------------------------


def wrk_run(url, seconds, connections, headers=()):
    lua = BUILD / "report.lua"
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(lua)]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=False).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result for {url}:\n{out}")
    data = json.loads(line[len("BENCHJSON ") :])
    return {
        "requests": data["requests"],
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p95_ms": data["p95_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "errors": data["errors"] + data["status_errors"],
        "bytes_per_request": data["bytes"] / max(1, data["requests"]),
    }


class PyClient:
    """A small closed-loop load client: N threads, each with its own keep-alive connection."""

    def __init__(self, host, port):
        self.host, self.port = host, port

    def run(self, make_request, seconds, connections, expect=(200,)):
        latencies, errors, lock = [], [0], threading.Lock()
        stop_at = time.perf_counter() + seconds

        def worker(n):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            state = {}
            own, own_errors = [], 0
            while time.perf_counter() < stop_at:
                method, path, body, headers = make_request(n, state, conn)
                started = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    ok = response.status in expect
                    if response.getheader("Connection", "").lower() == "close":
                        conn.close()
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                own.append((time.perf_counter() - started) * 1000)
                own_errors += 0 if ok else 1
            with lock:
                latencies.extend(own)
                errors[0] += own_errors

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        latencies.sort()

        def pct(p):
            return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] if latencies else 0.0

        return {
            "requests": len(latencies),
            "rps": len(latencies) / elapsed,
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "errors": errors[0],
        }


def get(host, port, path, headers=None, tls=False):
    if tls:  # the bench's own self-signed certificate
        conn = http.client.HTTPSConnection(host, port, timeout=10, context=ssl._create_unverified_context())  # noqa: S323
    else:
        conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def booking_poster(host, port, probe_data):
    """make_request for the booking submission: a fresh form (CSRF cookie and token, signed start time) and one
    free slot per request.

    The time-to-submit token is single-use, so every POST needs its own form. ``prepare(n)`` fetches n forms
    before the timed window (in parallel, like the clients), so the timed window measures only POSTs; if the
    pool runs dry, a form is fetched in the loop as before (``fetched_late`` counts those). Slots are dealt so
    that requests in flight together ask for different start times: each free start once (in time order),
    then each start again for its next free practitioner, and so on.
    """
    seen = {}
    ranked = []
    for index, slot in enumerate(probe_data["slot_pool"]):
        seen[slot] = seen.get(slot, 0) + 1
        ranked.append((seen[slot], index, slot))
    slots = [slot for _rank, _index, slot in sorted(ranked)]
    forms, lock = [], threading.Lock()
    service, location = probe_data["service_id"], probe_data["location_id"]
    late = [0]

    def fetch_form():
        response, body = get(host, port, f"/book/?service={probe_data['service_slug']}")
        cookies = response.msg.get_all("Set-Cookie") or []
        cookie = "; ".join(c.split(";", 1)[0] for c in cookies)
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body.decode()))
        return cookie, fields

    def prepare(count, threads=8):
        def fetch(n):
            got = [fetch_form() for _ in range(n)]
            with lock:
                forms.extend(got)

        workers = [threading.Thread(target=fetch, args=(count // threads + 1,)) for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()

    def make_request(n, state, conn):
        with lock:
            form_state = forms.pop() if forms else None
            slot = slots.pop(0) if slots else "20000101T0000Z"
        if form_state is None:
            late[0] += 1
            form_state = fetch_form()
        cookie, fields = form_state
        key = uuid.uuid4().hex
        form = {
            **fields,  # csrfmiddlewaretoken, started, and whatever else the form carries hidden
            "service": service,
            "visit_type": "in_clinic",
            "location": location,
            "practitioner": "",
            "slot": slot,
            "name": "Bench Patient",
            "email": f"bench-{key[:12]}@example.com",
            "phone": "(416) 555-0134",
            "contact_preference": "email",
            "patient_type": "new",
            "reason": "",
            "consent": "on",
            "website": "",
            "action": "submit",
            "request_key": key,
        }
        body = urllib.parse.urlencode(form)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "Origin": f"http://{host}:{port}",
            "Referer": f"http://{host}:{port}/book/",
        }
        return "POST", "/book/", body, headers

    make_request.prepare = prepare
    make_request.fetched_late = late
    make_request.slots_left = lambda: len(slots)
    return make_request


# --- The run ----------------------------------------------------------------------------------------------------

BROWSER = ("Accept-Encoding: gzip, deflate, br",)  # what every browser sends


class Runner:
    """A B A B … A: every site run sits between two runs of the floor's /plain/."""

    def __init__(self, args, floor):
        self.args, self.floor = args, floor
        self.floor_runs, self.rows, self.last_floor = [], [], None

    def _wrk(self, port, path, seconds, headers=(), tls=False):
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}{path}"
        wrk_run(url, max(1, round(self.args.warmup)), self.args.connections, headers)
        return wrk_run(url, max(1, round(seconds)), self.args.connections, headers)

    def floor_run(self):
        result = self._wrk(self.floor.port, "/plain/", self.args.duration)
        self.floor_runs.append(result["rps"])
        self.last_floor = result["rps"]
        return result["rps"]

    def measure(self, name, server, path, note="", during=None, post=None, headers=()):
        if self.args.only and not any(word in name for word in self.args.only.split(",")):
            return None
        before = self.last_floor if self.last_floor is not None else self.floor_run()
        load = load_average()
        helper = subprocess.Popen(during[0], cwd=ROOT, env=during[1], stdout=subprocess.DEVNULL) if during else None
        booted = server.workers_booted() if hasattr(server, "workers_booted") else 0
        try:
            if post:
                client = PyClient("127.0.0.1", server.port)
                # Forms for each run are fetched before it, so only POSTs run in the timed window (enough for
                # 400 req/s; beyond that the client fetches the rest in the loop and says so).
                post.prepare(int(self.args.warmup * 400))
                client.run(post, self.args.warmup, self.args.connections, expect=(302, 303))
                post.prepare(int(self.args.duration * 400))
                post.fetched_late[0] = 0
                result = client.run(post, self.args.duration, self.args.connections, expect=(302, 303))
                if post.fetched_late[0]:
                    log(f"  ({post.fetched_late[0]} forms were fetched inside the timed window: the pool ran dry)")
                if not post.slots_left():
                    log("  (the slot pool ran out: later POSTs asked for an impossible time and counted as errors)")
                cache_state = "-"
            else:
                tls = isinstance(server, Nginx)
                sent = dict(line.split(": ", 1) for line in (BROWSER[0], *headers))
                response, _ = get("127.0.0.1", server.port, path, sent, tls=tls)
                if response.status != 200:
                    raise SystemExit(f"{name}: {path} answered {response.status}")
                result = self._wrk(server.port, path, self.args.duration, (*BROWSER, *headers), tls=tls)
                response, _ = get("127.0.0.1", server.port, path, sent, tls=tls)
                cache_state = (response.getheader("X-Cache-Status") or "-") if tls else "(none)"
        finally:
            if helper:
                helper.send_signal(signal.SIGTERM)
                helper.wait(timeout=10)
        restarts = server.workers_booted() - booted if hasattr(server, "workers_booted") else 0
        after = self.floor_run()
        floor = (before + after) / 2
        row = {"name": name, "path": path, "note": note, "page_cache": cache_state, "load": load, **result}
        row.update(floor_rps=floor, share=result["rps"] / floor, worker_restarts=restarts)
        self.rows.append(row)
        log(
            f"  {name:34} {result['rps']:8.1f} req/s  p95 {result['p95_ms']:6.1f}  p99 {result['p99_ms']:6.1f} ms"
            f"  {row['share']:6.1%} of floor {floor:.0f}  load {load[0] if load else '?'}"
        )
        return row


def page_weight(port, path):
    _, raw = get("127.0.0.1", port, path, tls=True)
    response, wire = get("127.0.0.1", port, path, dict([BROWSER[0].split(": ")]), tls=True)
    return {
        "path": path,
        "raw_kb": round(len(raw) / 1024, 1),
        "gzip6_kb": round(len(gzip.compress(raw, 6)) / 1024, 1),
        "wire_kb": round(len(wire) / 1024, 1),
        "content_encoding": response.getheader("Content-Encoding") or "identity",
    }


def run(args):
    site = Path(args.site).resolve() if args.site else ROOT
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "report.lua").write_text(WRK_LUA)
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")
    ports = [args.port + i for i in range(5)] if args.port else [free_port() for _ in range(5)]
    started_load = load_average()
    log(f"site: {site}; load average {started_load}")

    # The floor: its own SQLite database, migrated fresh.
    Path(floor_env()["FLOOR_DB"]).unlink(missing_ok=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=FLOOR_DIR, env=floor_env(), check=True)

    db_url, vendor = bench_database()
    redis_url, cache_desc = bench_cache()
    env = site_env(db_url, redis_url, ports[1])
    log(f"bench database: {vendor}; cache: {cache_desc}")
    setup = {"migrate_s": manage(site, env, "migrate", "--noinput")}
    setup["load_content_s"] = manage(site, env, "load_content")
    setup["collectstatic_s"] = manage(site, env, "collectstatic", "--noinput")

    floor = Server("floor", FLOOR_DIR, floor_env(), [*LEAN_FLAGS, "floor.wsgi"], ports[0]).wait_ready("/plain/")
    lean = Server("site", site, env, [*LEAN_FLAGS, "config.wsgi"], ports[1]).wait_ready("/robots.txt")
    servers = [floor, lean]
    runner = Runner(args, floor)
    out = {}
    try:
        small = run_probe(site, env)
        article = small["article"]
        runner.measure("article at gunicorn (nginx miss)", lean, article, "content only")
        setup["seed_bench_data_s"] = manage(site, env, "seed_bench_data", quiet=False)
        data = run_probe(site, env)
        runner.measure("floor /page/ (template + 1 query)", floor, "/page/")
        runner.measure("site /robots.txt at gunicorn", lean, "/robots.txt", "middleware stack alone")
        runner.measure("article at gunicorn, 500 articles", lean, article, "nginx miss, seed_bench_data")
        runner.measure("article list at gunicorn, 500 articles", lean, "/articles/", "nginx miss, no page cache")
        runner.measure(
            "home at gunicorn while staff edit (1 save/s)", lean, "/", "each save renews the content version",
            during=(child(site, env, "--edit-loop", "1"), env),
        )  # fmt: skip
        runner.measure("booking POST (distinct slots)", lean, "POST /book/", "Python client",
                       post=booking_poster("127.0.0.1", lean.port, data))  # fmt: skip
        runner.measure(
            "day calendar at gunicorn (front desk)", lean, data["calendar"],
            f"signed in; busiest day, {data['calendar_bookings']} bookings, every practitioner's column",
            headers=(f"Cookie: {data['desk_cookie']}",),
        )  # fmt: skip
        lean.stop()
        servers.remove(lean)
        # The shipped stack: nginx (deploy/nginx/clinic.conf) in front of gunicorn under gunicorn.conf.py.
        shipped = Server("shipped", site, env, ["-c", "gunicorn.conf.py"], ports[2]).wait_ready("/robots.txt")
        servers.append(shipped)
        runner.measure("article at shipped gunicorn.conf.py, 500 articles", shipped, article, "nginx miss, as deployed")
        nginx = Nginx(shipped.port, https_port=ports[3], http_port=ports[4])
        servers.append(nginx)
        for name, path in (
            ("home, nginx page-cache hit", "/"),
            ("article, nginx page-cache hit", article),
            ("treatment, nginx page-cache hit", data["treatment"]),
            ("article list, nginx page-cache hit", "/articles/"),
        ):
            runner.measure(name, nginx, path, "HTTPS, shipped stack")
        out["page_weight"] = page_weight(nginx.port, article)
    finally:
        for server in servers:
            server.stop()
        drop_bench_database(db_url)

    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "site": str(site),
        "commit": _commit(site),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_at_start": started_load,
            "load_at_end": load_average(),
        },  # fmt: skip
        "config": {
            "database": vendor,
            "cache": cache_desc,
            "connections": args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "lean_flags": " ".join(LEAN_FLAGS),
        },  # fmt: skip
        "floor_runs": runner.floor_runs,
        "floor_rps": statistics.mean(runner.floor_runs),
        "targets": runner.rows,
        "setup_s": setup,
        **out,
    }
    report["budgets"] = budgets(report)
    previous = BUILD / "results.json"
    if previous.exists():
        shutil.copy(previous, BUILD / "results.prev.json")
    previous.write_text(json.dumps(report, indent=2))
    print_report(report, args.markdown)
    return report


def _commit(site):
    """The measured checkout's commit, or its folder name for an exported tree (git archive)."""
    if site != ROOT and not (site / ".git").exists():
        return site.name
    out = subprocess.run(["git", "-C", str(site), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or site.name


def _row(report, name):
    return next((r for r in report["targets"] if r["name"] == name), None)


def budgets(report):
    out = []
    for r in [r for r in report["targets"] if r["name"].endswith("nginx page-cache hit")]:
        out.append((f"{r['name']} ≥ 5 × floor /plain/", r["share"] >= BUDGETS["hit"], f"{r['share']:.1f} ×"))
    for name, key, label in (
        ("article at gunicorn, 500 articles", "miss_500", "page-cache miss, article, 500 articles ≥ 15 %"),
        ("article list at gunicorn, 500 articles", "list_500", "article list, 500 articles, no page cache ≥ 10 %"),
    ):
        row = _row(report, name)
        if row:
            out.append((label, row["share"] >= BUDGETS[key], f"{row['share']:.1%}"))
    lean, shipped = (
        _row(report, "article at gunicorn, 500 articles"),
        _row(report, "article at shipped gunicorn.conf.py, 500 articles"),
    )
    if lean and shipped:
        cost = 1 - shipped["share"] / lean["share"]
        out.append(("shipped gunicorn config within 10 % of lean flags (miss)", cost <= BUDGETS["shipped_cost"],
                    f"{cost:+.0%}"))  # fmt: skip
        out.append(("shipped config p99 < 50 ms", shipped["p99_ms"] < BUDGETS["shipped_p99_ms"],
                    f"{shipped['p99_ms']:.1f} ms, {shipped['worker_restarts']} worker restarts"))  # fmt: skip
    edit = _row(report, "home at gunicorn while staff edit (1 save/s)")
    if edit:
        out.append(
            ("home while staff edit p99 < 100 ms", edit["p99_ms"] < BUDGETS["edit_p99_ms"], f"{edit['p99_ms']:.1f} ms")
        )
    post = _row(report, "booking POST (distinct slots)")
    if post:
        db = report["config"]["database"]
        met = post["rps"] >= BUDGETS["post_rps"] and post["p95_ms"] < BUDGETS["post_p95_ms"]
        out.append((f"booking POST ≥ 100 req/s, p95 < 100 ms ({db})", met,
                    f"{post['rps']:.0f} req/s, p95 {post['p95_ms']:.0f} ms, {post['errors']} errors"))  # fmt: skip
    w = report.get("page_weight")
    if w:
        out.append(("article ≤ 8 KB on the wire", w["wire_kb"] <= BUDGETS["article_wire_kb"],
                    f"{w['wire_kb']} KB {w['content_encoding']} ({w['raw_kb']} KB raw)"))  # fmt: skip
    return [{"budget": b, "met": met, "value": v} for b, met, v in out]


def print_report(report, markdown=False):
    c, m = report["config"], report["machine"]
    print(
        f"\nClinic benchmark — {report['when']} — {report['commit']} — {m['cpus']} CPUs, Python {m['python']}, "
        f"load {m['load_at_start']} → {m['load_at_end']}\n{c['database']}, cache: {c['cache']}, gunicorn "
        f"{c['lean_flags']} for floor and site, wrk {c['connections']} connections, {c['duration_s']:g} s per run "
        f"after {c['warmup_s']:g} s warm-up; floor /plain/ = {report['floor_rps']:.0f} req/s (mean of "
        f"{len(report['floor_runs'])} runs, {min(report['floor_runs']):.0f}–{max(report['floor_runs']):.0f})"
    )
    cols = ("target", "share of floor", "req/s", "p50 ms", "p95 ms", "p99 ms", "nginx cache", "note")
    lines = []
    for r in report["targets"]:
        note = r["note"]
        if r["worker_restarts"]:
            note = f"{note}; {r['worker_restarts']} worker restarts" if note else f"{r['worker_restarts']} restarts"
        if r["errors"]:
            note += f"; {r['errors']} errors"
        share = f"{r['share']:.2f} ×" if r["share"] >= 2 else f"{r['share']:.1%}"
        lines.append((r["name"], share, f"{r['rps']:.0f}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}",
                      f"{r['p99_ms']:.1f}", r["page_cache"], note))  # fmt: skip
    if markdown:
        print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(str(x[i])) for x in [cols, *lines]) for i in range(len(cols))]
        for line in [cols, *lines]:
            print("  ".join(str(v).ljust(w) if i in (0, 6, 7) else str(v).rjust(w) for i, (v, w) in
                            enumerate(zip(line, widths, strict=True))).rstrip())  # fmt: skip
    w = report.get("page_weight")
    if w:
        print(f"article page: {w['raw_kb']} KB raw, {w['wire_kb']} KB on the wire ({w['content_encoding']})")
    print("budgets:")
    for b in report["budgets"]:
        print(f"  {'met   ' if b['met'] else 'MISSED'} {b['budget']}: {b['value']}")
    print(f"results: {BUILD / 'results.json'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--port", type=int, help="first of three consecutive ports to use (default: any free)")
    parser.add_argument("--site", help="another checkout of the site to measure (default: this one)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--only", help="measure only targets whose name contains one of these words (a,b,…)")
    parser.add_argument("--report", help="print the table of a results.json again, without measuring")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--edit-loop", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    site = str(Path(args.site).resolve()) if args.site else str(ROOT)
    if args.probe:
        return probe(site)
    if args.edit_loop:
        return edit_loop(site, args.edit_loop)
    if args.report:
        return print_report(json.loads(Path(args.report).read_text()), args.markdown)
    return run(args)


if __name__ == "__main__":
    main()
