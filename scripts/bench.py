#!/usr/bin/env python
"""The site's benchmark (`make bench`): throughput and latency under gunicorn, availability, page weight.

    python scripts/bench.py                     # everything, about 2 minutes
    python scripts/bench.py --duration 10       # longer runs per target
    DATABASE_URL=postgres://u@host/db python scripts/bench.py   # on PostgreSQL (uses a database clinic_bench)

1. A fresh benchmark database: build/bench/bench.sqlite3, or with DATABASE_URL=postgres://… a dedicated database
   `clinic_bench` on the same server (dropped and created again; no other database is touched). Migrations,
   the content command (timed, first run and idempotent re-run), then `seed_bench_data` (500 articles,
   20 practitioners, 10,000 bookings) and collectstatic.
2. gunicorn with gunicorn.conf.py and production settings (DEBUG off, a generated SECRET_KEY, hashed static files
   through whitenoise, persistent database connections), the shared cache = Redis when REDIS_URL is set or a
   local Redis answers on 127.0.0.1:6379 (its own key prefix), else local memory. Only the booking abuse limits
   are raised (the bench posts hundreds of requests from one address) and worker recycling is off.
3. Load from separate processes: wrk (`apt-get install wrk`; our threaded http.client client if missing) with
   8 connections, 1 s warm-up then 5 s measured per target; the booking submission always uses our client (it
   needs a CSRF cookie and token and a distinct free slot per request). The floor is /robots.txt: a view with
   no database, no template and no cache, through the full middleware stack, measured first and last.
4. The availability engine (scripts/bench_availability.py, 60 days x 5 and x 20 practitioners) and
   booking.availability.slots_for on the seeded database; the article page's weight (gzip).

Prints a table and writes build/bench/results.json; the previous results are kept as results.prev.json and
compared, to show how stable the numbers are. Budgets are reported, not enforced (exit status 0).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.client
import io
import json
import os
import platform
import re
import secrets
import shutil
import socket
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
BENCH_DB_NAME = os.environ.get("BENCH_DB_NAME", "clinic_bench")

BUDGETS = {
    "cached_ratio": 0.70,  # cached public pages: at least 70 % of the floor's requests per second
    "uncached_ratio": 0.30,  # an uncached article page: at least 30 %
    "p95_ms": 50.0,  # p95 under 50 ms at 8 concurrent clients, every GET target
    "availability_ms": 50.0,  # 60 days x 20 practitioners
    "article_weight_kb": 60.0,  # article page HTML + CSS + JS, compressed
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


# --- Database and environment -----------------------------------------------------------------------------------


def bench_database(fresh=True):
    """The benchmark database's URL, created empty (SQLite file, or a dedicated PostgreSQL database)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg2

        parts = urllib.parse.urlsplit(url)
        admin = psycopg2.connect(
            dbname=parts.path.lstrip("/") or "postgres",
            user=urllib.parse.unquote(parts.username or ""),
            password=urllib.parse.unquote(parts.password or "") or None,
            host=parts.hostname,
            port=parts.port or 5432,
        )
        admin.autocommit = True
        with admin.cursor() as cur:
            if fresh:
                cur.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB_NAME}" WITH (FORCE)')
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB_NAME])
            if not cur.fetchone():
                cur.execute(f'CREATE DATABASE "{BENCH_DB_NAME}"')
        admin.close()
        return urllib.parse.urlunsplit(parts._replace(path="/" + BENCH_DB_NAME)), "postgresql"
    path = BUILD / "bench.sqlite3"
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}", "sqlite"


def drop_bench_database(url):
    if not url.startswith("postgres"):
        return
    import psycopg2

    parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    admin = psycopg2.connect(
        dbname=parts.path.lstrip("/") or "postgres",
        user=urllib.parse.unquote(parts.username or ""),
        password=urllib.parse.unquote(parts.password or "") or None,
        host=parts.hostname,
        port=parts.port or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB_NAME}" WITH (FORCE)')
    admin.close()


def bench_cache(choice):
    """(REDIS_URL or "", description)."""
    url = os.environ.get("REDIS_URL", os.environ.get("CACHE_URL", ""))
    if choice == "locmem":
        return "", "local memory (per worker)"
    if url:
        return url, "Redis (REDIS_URL)"
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 6379), timeout=0.3) as s:
        s.sendall(b"PING\r\n")
        if s.recv(16).startswith(b"+PONG"):
            return "redis://127.0.0.1:6379/0", "Redis (local, 127.0.0.1:6379)"
    if choice == "redis":
        raise SystemExit("--cache redis: no REDIS_URL and no Redis on 127.0.0.1:6379")
    return "", "local memory (per worker; no Redis found)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(db_url, redis_url, port):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL")}
    env.update(
        DEBUG="0",
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
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_MAX_REQUESTS="0",  # no worker recycling in the middle of a 5-second run
        GUNICORN_ACCESSLOG=str(BUILD / "access.log"),
        GUNICORN_LOGLEVEL="warning",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CACHE_KEY_PREFIX"] = f"clinic-bench-{uuid.uuid4().hex[:8]}"  # never meets another site's keys
    return env


def manage(env, *args, quiet=True):
    started = time.perf_counter()
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode:
        log(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    if not quiet:
        log(result.stdout.strip())
    return elapsed


# --- Probe: Django in a child process with the bench environment ------------------------------------------------


def probe():
    """Run inside the bench environment: ids for the URLs, a pool of free slots, slots_for timings."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    from django.utils import timezone

    from articles.models import Article, Treatment
    from booking.availability import slots_for
    from booking.forms import encode_slot
    from booking.models import Service, VisitType
    from clinic.models import Location

    every = Service.objects.get(slug="bench-any-60")
    five = Service.objects.get(slug="bench-five-60")
    location = Location.objects.filter(is_active=True).order_by("order", "pk").first()
    timings = {}
    for label, service in (("5", five), ("20", every)):
        slots_for(service, VisitType.IN_CLINIC)  # connect, warm
        runs = []
        for _ in range(7):
            started = time.perf_counter()
            found = slots_for(service, VisitType.IN_CLINIC)
            runs.append((time.perf_counter() - started) * 1000)
        timings[label] = {
            "practitioners": service.practitioners.count(),
            "starts": len(found),
            "practitioner_slots": sum(len(v) for v in found.values()),
            "best_ms": round(min(runs), 2),
            "median_ms": round(statistics.median(runs), 2),
        }
    free = slots_for(every, VisitType.IN_CLINIC)
    pool = [encode_slot(start) for start, pids in sorted(free.items()) for _ in pids]
    tz = timezone.get_default_timezone()
    per_day = {}
    for start in free:
        day = start.astimezone(tz).date()
        per_day[day] = per_day.get(day, 0) + 1
    busiest_day = max(per_day, key=per_day.get)
    article = Article.objects.published().order_by("-published_at").first()
    treatment = Treatment.objects.order_by("order", "pk").first()
    print(
        json.dumps(
            {
                "service_slug": every.slug,
                "service_id": every.pk,
                "location_id": location.pk if location else "",
                "article": article.get_absolute_url(),
                "treatment": treatment.get_absolute_url(),
                "times_date": busiest_day.isoformat(),
                "slot_pool": pool,
                "slots_for": timings,
            }
        )
    )


def run_probe(env):
    result = subprocess.run(
        [PYTHON, __file__, "--probe"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        log(result.stdout + result.stderr)
        raise SystemExit("probe failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Load clients -----------------------------------------------------------------------------------------------


def wrk_run(url, seconds, connections, lua):
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(lua), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result for {url}:\n{out}")
    data = json.loads(line[len("BENCHJSON ") :])
    seconds_run = data["duration_us"] / 1e6
    return {
        "requests": data["requests"],
        "rps": data["requests"] / seconds_run,
        "p50_ms": data["p50_us"] / 1000,
        "p95_ms": data["p95_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "errors": data["errors"] + data["status_errors"],
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


def get(host, port, path, headers=None):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def booking_poster(host, port, probe_data):
    """make_request for the booking submission: a CSRF cookie and token per thread, one free slot per request."""
    pool = list(probe_data["slot_pool"])
    pool_lock = threading.Lock()
    service, location = probe_data["service_id"], probe_data["location_id"]

    def make_request(n, state, conn):
        if "cookie" not in state:
            response, body = get(host, port, f"/book/?service={probe_data['service_slug']}")
            html = body.decode()
            cookies = response.msg.get_all("Set-Cookie") or []
            state["cookie"] = "; ".join(c.split(";", 1)[0] for c in cookies)
            state["token"] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
            state["started"] = re.search(r'name="started" value="([^"]+)"', html).group(1)
        with pool_lock:
            slot = pool.pop(0) if pool else "20000101T0000Z"
        key = uuid.uuid4().hex
        form = {
            "csrfmiddlewaretoken": state["token"],
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
            "started": state["started"],
            "request_key": key,
        }
        body = urllib.parse.urlencode(form)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": state["cookie"],
            "Origin": f"http://{host}:{port}",
            "Referer": f"http://{host}:{port}/book/",
        }
        return "POST", "/book/", body, headers

    return make_request


# --- Page weight --------------------------------------------------------------------------------------------------


def page_weight(host, port, path):
    """HTML + CSS + JS of a page as sent compressed, and a few front-end checks."""
    response, body = get(host, port, path)
    html = body.decode()
    items = [{"url": path, "kind": "html", "raw": len(body), "gzip": len(gzip.compress(body, 6))}]
    assets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html) + re.findall(
        r'<script[^>]+src="([^"]+)"', html
    )
    third_party = [a for a in assets if a.startswith(("http://", "https://", "//")) and f"{host}:{port}" not in a]
    static_headers = {}
    for asset in assets:
        if asset in third_party:
            continue
        plain, raw = get(host, port, asset)
        zipped, zbody = get(host, port, asset, {"Accept-Encoding": "gzip"})
        static_headers[asset] = {
            "cache_control": plain.getheader("Cache-Control"),
            "content_encoding": zipped.getheader("Content-Encoding"),
        }
        kind = "css" if asset.endswith(".css") else "js"
        items.append({"url": asset, "kind": kind, "raw": len(raw), "gzip": len(zbody)})
    imgs = re.findall(r"<img\b[^>]*>", html)
    return {
        "path": path,
        "items": items,
        "total_raw_kb": round(sum(i["raw"] for i in items) / 1024, 1),
        "total_gzip_kb": round(sum(i["gzip"] for i in items) / 1024, 1),
        "html_served_compressed": response.getheader("Content-Encoding") is not None,
        "third_party_assets": third_party,
        "render_blocking_scripts": [
            s for s in re.findall(r"<script[^>]+src=[^>]*>", html) if "defer" not in s and "async" not in s
        ],
        "images": len(imgs),
        "images_without_size": sum(1 for i in imgs if "width=" not in i or "height=" not in i),
        "static_headers": static_headers,
    }


# --- Main -----------------------------------------------------------------------------------------------------------


def start_server(env, port):
    logfile = open(BUILD / "gunicorn.log", "w")  # noqa: SIM115  (closed by stop_server)
    proc = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {BUILD / 'gunicorn.log'}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            response, _ = get("127.0.0.1", port, "/healthz")
            if response.status == 200:
                return proc, logfile
        time.sleep(0.3)
    stop_server(proc, logfile)
    raise SystemExit("gunicorn did not become healthy in 60 s")


def stop_server(proc, logfile):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    logfile.close()


def availability_engine():
    import bench_availability

    with contextlib.redirect_stdout(io.StringIO()):
        return bench_availability.main(["--json"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per target")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker (default: gunicorn.conf.py)")
    parser.add_argument("--cache", choices=["auto", "redis", "locmem"], default="auto")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL bench database afterwards")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        return probe()

    BUILD.mkdir(parents=True, exist_ok=True)
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    if args.client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk, or use --client python")
    lua = BUILD / "report.lua"
    lua.write_text(WRK_LUA)

    port = free_port()
    db_url, db_vendor = bench_database()
    redis_url, cache_desc = bench_cache(args.cache)
    env = server_env(db_url, redis_url, port)
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)

    log(f"bench database: {db_vendor}; cache: {cache_desc}")
    setup = {"migrate_s": manage(env, "migrate", "--noinput")}
    setup["load_content_first_s"] = manage(env, "load_content")
    setup["load_content_again_s"] = manage(env, "load_content")
    setup["seed_bench_data_s"] = manage(env, "seed_bench_data", quiet=False)
    setup["collectstatic_s"] = manage(env, "collectstatic", "--noinput")
    data = run_probe(env)
    log(f"setup: {', '.join(f'{k} {v:.1f}' for k, v in setup.items())}")

    proc, logfile = start_server(env, port)
    host = "127.0.0.1"
    base = f"http://{host}:{port}"
    targets = [
        ("floor", "/robots.txt", "floor"),
        ("home", "/", "cached"),
        ("article list", "/articles/", "cached"),
        ("article", data["article"], "cached"),
        ("treatment", data["treatment"], "cached"),
        ("search", "/articles/?q=cramps", "cached"),
        ("article, uncached", data["article"] + "?bench=uncached", "uncached"),
        ("booking form", f"/book/?service={data['service_slug']}", "never"),
        (
            "time slots",
            f"/book/times/?service={data['service_id']}&visit_type=in_clinic&location={data['location_id']}"
            f"&date={data['times_date']}",
            "never",
        ),
        ("booking submission", "POST /book/", "never"),
        ("floor (again)", "/robots.txt", "floor"),
    ]
    results = []
    client = PyClient(host, port)
    try:
        for name, path, kind in targets:
            if name == "booking submission":
                poster = booking_poster(host, port, data)
                client.run(poster, args.warmup, args.connections, expect=(302,))
                measured = client.run(poster, args.duration, args.connections, expect=(302,))
                measured["tool"] = "python"
                page_cache = "-"
            else:
                response, _ = get(host, port, path)
                if response.status != 200:
                    raise SystemExit(f"{path}: status {response.status}")
                if use_wrk:
                    wrk_run(base + path, max(1, round(args.warmup)), args.connections, lua)
                    measured = wrk_run(base + path, max(1, round(args.duration)), args.connections, lua)
                    measured["tool"] = "wrk"
                else:

                    def request(n, state, conn, path=path):
                        return "GET", path, None, {}

                    client.run(request, args.warmup, args.connections)
                    measured = client.run(request, args.duration, args.connections)
                    measured["tool"] = "python"
                response, _ = get(host, port, path)
                page_cache = response.getheader("X-Page-Cache") or "-"
            measured.update(name=name, path=path, kind=kind, page_cache=page_cache)
            results.append(measured)
            log(f"  {name:20} {measured['rps']:8.1f} req/s  p95 {measured['p95_ms']:6.1f} ms")
        weight = page_weight(host, port, data["article"])
    finally:
        stop_server(proc, logfile)
        if not args.keep_db:
            drop_bench_database(db_url)

    floors = [r["rps"] for r in results if r["kind"] == "floor"]
    floor = statistics.mean(floors)
    for r in results:
        r["ratio"] = r["rps"] / floor
    engine = availability_engine()
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": {
            "database": db_vendor,
            "cache": cache_desc,
            "client": "wrk" if use_wrk else "python",
            "connections": args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "gunicorn_workers": env.get("GUNICORN_WORKERS", "gunicorn.conf.py default"),
            "gunicorn_threads": env.get("GUNICORN_THREADS", "gunicorn.conf.py default"),
        },
        "floor_rps": floor,
        "floor_spread": (max(floors) - min(floors)) / floor,
        "targets": results,
        "availability": {"engine": engine["runs"], "slots_for_db": data["slots_for"]},
        "setup_s": setup,
        "page_weight": weight,
    }
    report["budgets"] = budgets(report)
    previous = BUILD / "results.json"
    prior = json.loads(previous.read_text()) if previous.exists() else None
    if prior:
        shutil.copy(previous, BUILD / "results.prev.json")
    previous.write_text(json.dumps(report, indent=2))
    print_report(report, prior)
    return report


def budgets(report):
    out = []
    for r in report["targets"]:
        if r["kind"] == "cached":
            out.append((f"{r['name']}: ≥ 70 % of floor", r["ratio"] >= BUDGETS["cached_ratio"], f"{r['ratio']:.0%}"))
        if r["kind"] == "uncached":
            out.append((f"{r['name']}: ≥ 30 % of floor", r["ratio"] >= BUDGETS["uncached_ratio"], f"{r['ratio']:.0%}"))
    for r in report["targets"]:
        if r["kind"] != "floor" and not r["path"].startswith("POST"):
            out.append((f"{r['name']}: p95 < 50 ms", r["p95_ms"] < BUDGETS["p95_ms"], f"{r['p95_ms']:.1f} ms"))
    engine20 = next(r for r in report["availability"]["engine"] if r["practitioners"] == 20)
    db20 = report["availability"]["slots_for_db"]["20"]
    out.append(("availability 60 d x 20 (engine) < 50 ms", engine20["best_ms"] < 50, f"{engine20['best_ms']:.1f} ms"))
    out.append(("availability 60 d x 20 (with DB) < 50 ms", db20["median_ms"] < 50, f"{db20['median_ms']:.1f} ms"))
    w = report["page_weight"]
    out.append(("article HTML+CSS+JS ≤ 60 KB gzip", w["total_gzip_kb"] <= 60, f"{w['total_gzip_kb']:.1f} KB"))
    out.append(("no third-party assets", not w["third_party_assets"], str(len(w["third_party_assets"]))))
    out.append(("images have width and height", w["images_without_size"] == 0, f"{w['images_without_size']} missing"))
    return [{"budget": b, "met": met, "value": v} for b, met, v in out]


def print_report(report, prior):
    c = report["config"]
    print(
        f"\nClinic benchmark — {report['when']} — {report['machine']['cpus']} CPUs, Python "
        f"{report['machine']['python']}, {c['database']}, cache: {c['cache']}, load: {c['client']}, "
        f"{c['connections']} connections, {c['duration_s']:g} s per target after {c['warmup_s']:g} s warm-up"
    )
    prev = {r["name"]: r for r in prior["targets"]} if prior else {}
    header = (
        f"{'target':20} {'page cache':10} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'floor':>6} "
        f"{'errors':>6}"
    )
    if prev:
        header += f" {'vs last':>8}"
    print(header)
    print("-" * len(header))
    for r in report["targets"]:
        line = (
            f"{r['name']:20} {r['page_cache']:10} {r['rps']:8.1f} {r['p50_ms']:7.1f} {r['p95_ms']:7.1f} "
            f"{r['p99_ms']:7.1f} {r['ratio']:6.0%} {r['errors']:6d}"
        )
        if r["name"] in prev:
            line += f" {r['rps'] / prev[r['name']]['rps'] - 1:+8.1%}"
        print(line)
    print(f"floor = mean of first and last floor runs: {report['floor_rps']:.1f} req/s "
          f"(they differ by {report['floor_spread']:.1%})")  # fmt: skip
    a = report["availability"]
    for r in a["engine"]:
        print(f"availability engine {r['days']} d x {r['practitioners']:2}: best {r['best_ms']:.1f} ms, "
              f"median {r['median_ms']:.1f} ms")  # fmt: skip
    for label, r in a["slots_for_db"].items():
        print(f"slots_for on the seeded DB, {label:>2} practitioners: best {r['best_ms']:.1f} ms, "
              f"median {r['median_ms']:.1f} ms ({r['practitioner_slots']} free practitioner-slots)")  # fmt: skip
    s = report["setup_s"]
    print(f"content command: {s['load_content_first_s']:.1f} s first run, {s['load_content_again_s']:.1f} s again "
          f"(idempotent); seed_bench_data {s['seed_bench_data_s']:.1f} s")  # fmt: skip
    w = report["page_weight"]
    parts = ", ".join(f"{i['kind']} {i['gzip'] / 1024:.1f}" for i in w["items"])
    print(f"article page weight: {w['total_gzip_kb']:.1f} KB gzip ({parts}); {w['total_raw_kb']:.1f} KB raw")
    print("\nbudgets:")
    for b in report["budgets"]:
        print(f"  {'met   ' if b['met'] else 'MISSED'} {b['budget']}: {b['value']}")
    print(f"\nresults: {BUILD / 'results.json'}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
