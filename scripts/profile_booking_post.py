#!/usr/bin/env python
"""Profile the booking POST (a patient submitting the request form) on the benchmark-sized database.

    python scripts/profile_booking_post.py                    # SQLite, 200 POSTs
    DATABASE_URL=postgres://u@host/db python scripts/profile_booking_post.py -n 300
    python scripts/profile_booking_post.py --site build/old-site   # another checkout of the site

Builds a fresh benchmark database (SQLite: build/profile/<site>-post.sqlite3; PostgreSQL: <db>_profile_post),
seeds it with seed_bench_data, then sends each POST through the whole middleware
stack with production settings (DEBUG off) and a fresh form every time (the time-to-submit token is
single-use). Only the POSTs are profiled and timed: CPU ms and queries per POST, then the profile's top lines.
"""

import argparse
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "profile"


def database_url(site):
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg2

        parts = urllib.parse.urlsplit(url)
        name = (parts.path.lstrip("/") or "postgres") + "_profile_post"
        admin = psycopg2.connect(urllib.parse.urlunsplit(parts._replace(path="/postgres")))
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        return urllib.parse.urlunsplit(parts._replace(path="/" + name))
    db = BUILD / f"{site.name}-post.sqlite3"
    db.unlink(missing_ok=True)
    return f"sqlite:///{db}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="POSTs to profile")
    parser.add_argument("--site", help="another checkout of the site")
    parser.add_argument("--lines", type=int, default=40, help="profile lines to print")
    args = parser.parse_args()
    site = Path(args.site).resolve() if args.site else ROOT
    BUILD.mkdir(parents=True, exist_ok=True)
    url = database_url(site)
    os.environ.pop("REDIS_URL", None)
    os.environ.update(
        DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0",
        DATABASE_URL=url, LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="config.settings",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        BOOKING_RATE_LIMIT="100000000", BOOKING_MAX_OPEN_PER_EMAIL="100000", BOOKING_MIN_SECONDS_TO_SUBMIT="0",
    )  # fmt: skip
    for command in (
        ["migrate", "-v0"],
        ["load_content"],
        ["seed_bench_data", "--yes"],
        ["collectstatic", "--noinput", "-v0"],
    ):
        subprocess.run([sys.executable, "manage.py", *command], cwd=site, check=True, stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(site))
    os.chdir(site)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from pyinstrument import Profiler

    from booking.forms import encode_slot
    from booking.models import Service, VisitType
    from booking.scheduling.availability import slots_for
    from clinic.models import Location

    service = Service.objects.get(slug="bench-any-60")
    location = Location.objects.filter(is_active=True).order_by("order", "pk").first()
    free = slots_for(service, VisitType.IN_CLINIC)
    pool = [encode_slot(start) for start, pids in sorted(free.items()) for _ in pids]
    client = Client()
    # Spread over the whole horizon, as patients do (the bench client takes them in order).
    pool = pool[:: max(1, len(pool) // (args.n + 20))]

    def post():
        page = client.get(f"/book/?service={service.slug}").content.decode()
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        key = secrets.token_hex(16)
        data = {
            **fields,
            "service": service.pk, "visit_type": "in_clinic", "location": location.pk, "practitioner": "",
            "slot": pool.pop(0), "name": "Bench Patient", "email": f"bench-{key[:12]}@example.com",
            "phone": "(416) 555-0134", "contact_preference": "email", "patient_type": "new", "reason": "",
            "consent": "on", "website": "", "action": "submit", "request_key": key,
        }  # fmt: skip
        return data

    for _ in range(5):
        assert client.post("/book/", post()).status_code == 302
    queries, counting = [0], [False]

    def count(execute, sql, params, many, context):
        queries[0] += counting[0]
        return execute(sql, params, many, context)

    profiler = Profiler(interval=0.0005)
    cpu = wall = 0.0
    with connection.execute_wrapper(count):
        for _ in range(args.n):
            data = post()
            counting[0] = True
            started, started_cpu = time.perf_counter(), time.process_time()
            profiler.start()
            status = client.post("/book/", data).status_code
            profiler.stop()
            wall += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
            counting[0] = False
            assert status == 302, status
    n = args.n
    print(
        f"{connection.vendor}: {wall / n * 1000:.1f} ms wall, {cpu / n * 1000:.1f} ms CPU per POST (profiled), "
        f"{queries[0] / n:.1f} queries per POST ({n} POSTs)"
    )
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    print("\n".join(text.splitlines()[: args.lines + 8]))
    (BUILD / f"booking-post-{connection.vendor}.html").write_text(profiler.output_html())
    (BUILD / f"booking-post-{connection.vendor}.txt").write_text(text)


if __name__ == "__main__":
    main()
