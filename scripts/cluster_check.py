"""Two gunicorn instances with production settings, sharing PostgreSQL and Redis: do they behave as one site?

    make cluster-check            (or: .venv/bin/python scripts/cluster_check.py)

Creates a fresh PostgreSQL database (clinic_cluster), flushes Redis database 15, migrates, loads the content,
collects static files and creates a staff user; starts gunicorn on two ports with DEBUG off, then checks,
printing PASS/FAIL for each:

- a booking made through one instance is visible through the other;
- the per-client rate limit counts requests sent to both;
- 20 concurrent requests for one slot, spread over both, make exactly one booking;
- the same move form sent to both instances at once moves the booking once (one event, one set of emails);
- a staff session started on one instance works on the other, and the admin lockout is shared;
- oversized request lines and headers are refused by gunicorn.

Requests go straight to the instances with the headers a TLS-terminating load balancer adds (Host,
X-Forwarded-Proto: https, X-Forwarded-For), so the `__Host-` cookies, HSTS and CSRF checks run as in
production. Exits non-zero on any failure, and always stops the servers.

Environment: CLUSTER_PG_URL (default postgres://postgres@127.0.0.1:5432), CLUSTER_DB (clinic_cluster),
CLUSTER_REDIS_URL (redis://127.0.0.1:6379/15), CLUSTER_PORTS (8301,8302).
"""

import base64
import http.client
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_URL = os.environ.get("CLUSTER_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("CLUSTER_DB", "clinic_cluster")
REDIS_URL = os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/15")
PORTS = [int(p) for p in os.environ.get("CLUSTER_PORTS", "8301,8302").split(",")]
HOST = "localhost"  # the public host name both instances answer to, as behind one load balancer
STAFF_USER, STAFF_PASSWORD = "cluster-ops", "cluster-" + secrets.token_urlsafe(16)
RATE_LIMIT = 5

results = []
# Set by scripts/proxy_check.py: {"http": port, "https": port, "cafile": path}. Every request then goes through
# nginx (TLS), from a loopback address of its own per simulated client (127.x.y.z), as real clients would.
PROXY = None
PATIENT_PAGES = []  # the patients' own booking pages made by the checks (the proxy check tries them too)


def loopback_for(client_ip):
    """A distinct 127.0.0.0/8 source address per simulated client (Linux routes all of it to loopback)."""
    parts = client_ip.split(".")
    return "127." + ".".join(parts[1:]) if len(parts) == 4 else "127.0.0.2"


def report(ok, what, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {what}" + (f"  ({detail})" if detail else ""), flush=True)
    return ok


def step(text):
    print(f"--- {text}", flush=True)


# --- Setting up ------------------------------------------------------------------------------------------


def environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(
        DEBUG="0",
        # A fresh Fernet key (32 random bytes, URL-safe base64) for the health records, as production has one.
        HEALTH_DATA_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        BEHIND_PROXY="1",  # trust X-Forwarded-Proto / X-Forwarded-For from the (simulated) load balancer
        TRUSTED_PROXIES="127.0.0.1,::1",  # ...which connects from loopback
        SECURE_SSL_REDIRECT="1",
        DATABASE_URL=f"{PG_URL}/{DB_NAME}",
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX="cluster",
        SITE_URL=f"https://{HOST}",
        BOOKING_RATE_LIMIT=str(RATE_LIMIT),
        BOOKING_MIN_SECONDS_TO_SUBMIT="0",  # the script submits faster than a person; the check stays on
        BOOKING_MAX_OPEN_PER_EMAIL="3",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOG_LEVEL="WARNING",
        GUNICORN_WORKERS="2",
        GUNICORN_ACCESSLOG="",
        DJANGO_SUPERUSER_PASSWORD=STAFF_PASSWORD,
    )
    env.pop("EMAIL_HOST", None)
    return env


def fresh_database():
    import psycopg2

    admin = psycopg2.connect(f"{PG_URL}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{DB_NAME}"')
    admin.close()


def flush_redis():
    import redis

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()


def manage(env, *args):
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stdout.write(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed")


def db_query(sql, params=()):
    import psycopg2

    with psycopg2.connect(f"{PG_URL}/{DB_NAME}") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def start_servers(env, logdir):
    servers = []
    for port in PORTS:
        log = open(Path(logdir) / f"gunicorn-{port}.log", "wb")  # noqa: SIM115  (closed in stop_servers)
        proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        servers.append((port, proc, log))
    deadline = time.monotonic() + 30
    for port, proc, log in servers:
        while True:
            try:
                if request(port, "GET", "/healthz", https=False)[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn on port {port} did not start; see {log.name}")
            time.sleep(0.2)
    return servers


def stop_servers(servers):
    for _port, proc, _log in servers:
        if proc.poll() is None:
            proc.terminate()
    for _port, proc, log in servers:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# --- HTTP as the load balancer forwards it -----------------------------------------------------------------


def request(port, method, path, *, body=None, cookies=None, client_ip="203.0.113.10", https=True, headers=None):
    """One request to one instance. Returns (status, headers as a dict of lists, body text, new cookies)."""
    if PROXY:
        source = (loopback_for(client_ip), 0)
        if https:
            context = ssl.create_default_context(cafile=PROXY["cafile"])
            conn = http.client.HTTPSConnection(HOST, PROXY["https"], timeout=30, context=context, source_address=source)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", PROXY["http"], timeout=30, source_address=source)
        hdrs = {"Host": HOST, "Connection": "close"}
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        hdrs = {"Host": HOST, "X-Forwarded-For": client_ip, "Connection": "close"}
        if https:
            hdrs["X-Forwarded-Proto"] = "https"
    if cookies:
        hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if body is not None:
        body = urlencode(body, doseq=True)
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs["Referer"] = f"https://{HOST}{urlsplit(path).path}"
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        got = {}
        for key, value in resp.getheaders():
            got.setdefault(key.lower(), []).append(value)
        new_cookies = {}
        for line in got.get("set-cookie", []):
            name, _, rest = line.partition("=")
            new_cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, got, text, new_cookies
    finally:
        conn.close()


class Browser:
    """A cookie jar for one visitor, who may reach either instance."""

    def __init__(self, client_ip):
        self.cookies = {}
        self.client_ip = client_ip
        self.last_headers = {}

    def go(self, port, method, path, body=None):
        status, headers, text, new = request(
            port, method, path, body=body, cookies=self.cookies, client_ip=self.client_ip
        )
        self.cookies.update(new)
        self.last_headers = headers
        return status, headers, text


def hidden(html, name):
    found = re.search(rf'name="{name}" value="([^"]*)"', html) or re.search(rf'value="([^"]*)" name="{name}"', html)
    return unescape(found.group(1)) if found else ""


def slots(port, service_id, practitioner_id, need):
    """Free slot values for the practitioner, from the booking page's time picker, day by day."""
    found = []
    day = datetime.now(UTC).date()
    for _ in range(40):
        day += timedelta(days=1)
        query = urlencode(
            {"service": service_id, "visit_type": "in_clinic", "practitioner": practitioner_id, "date": day.isoformat()}
        )
        _status, _h, html, _c = request(port, "GET", f"/book/times/?{query}")
        for value in re.findall(r'name="slot" id="slot-[^"]+" value="([^"]+)"', html):
            if value not in found:
                found.append(value)
        if len(found) >= need:
            break
    return found


def booking_form(browser, port, service_id, practitioner_id, slot, n):
    status, _h, html = browser.go(port, "GET", f"/book/?service={service_id}")
    assert status == 200, status
    return {
        "csrfmiddlewaretoken": hidden(html, "csrfmiddlewaretoken"),
        "started": hidden(html, "started"),
        "request_key": uuid.uuid4().hex,
        "service": service_id,
        "visit_type": "in_clinic",
        "location": LOCATION_ID,
        "practitioner": practitioner_id,
        "slot": slot,
        "name": f"Cluster Patient {n}",
        "email": f"cluster{n}-{uuid.uuid4().hex[:6]}@example.com",
        "phone": "416 555 0123",
        "contact_preference": "email",
        "patient_type": "new",
        "reason": "",
        "consent": "on",
        "website": "",
        "action": "submit",
    }


LOCATION_ID = ""


# --- The checks ------------------------------------------------------------------------------------------


def check_health_and_headers(a, b):
    for port in (a, b):
        status, _h, text, _c = request(port, "GET", "/healthz", https=PROXY is not None)
        report(status == 200 and json.loads(text).get("status") == "ok", f"/healthz on :{port}", text.strip())
    status, headers, _text, cookies = request(a, "GET", "/book/")
    hsts = headers.get("strict-transport-security", [""])[0]
    csp = headers.get("content-security-policy", [""])[0]
    report(
        status == 200 and "max-age=31536000" in hsts and "unsafe-inline" not in csp and "__Host-csrftoken" in cookies,
        "production headers over https: HSTS, CSP, __Host-csrftoken",
        hsts,
    )
    status, headers, _t, _c = request(a, "GET", "/book/", https=False)
    report(status == 301 and headers.get("location", [""])[0].startswith("https://"), "plain http redirects to https")


def check_booking_visible_on_both(a, b, service_id, practitioner_id, slot):
    patient = Browser("198.51.100.21")
    form = booking_form(patient, a, service_id, practitioner_id, slot, 1)
    status, headers, _html = patient.go(a, "POST", "/book/", form)
    location = headers.get("location", [""])[0]
    if not report(status == 302 and "/book/manage/" in location, f"booking saved through :{a}", f"status {status}"):
        return
    path = urlsplit(location).path
    PATIENT_PAGES.append(path)
    reference = db_query("SELECT reference FROM booking_booking WHERE request_key = %s", (form["request_key"],))
    ref = reference[0][0] if reference else "?"
    stranger = Browser("198.51.100.22")  # no cookies: only the signed link
    status, _h, html = stranger.go(b, "GET", path)
    report(status == 200 and ref in html, f"booking {ref} visible through :{b} (its manage page)")
    report("we have your request" not in html, "…without the patient's session, no thank-you note")
    status, _h, html = patient.go(b, "GET", path)
    report(
        status == 200 and ref in html and "we have your request" in html,
        f"the patient's thank-you cookie from :{a} works on :{b} (thank-you note shown)",
    )


def check_rate_limit_across_both(a, b, service_id, practitioner_id, free):
    client = Browser("198.51.100.50")
    statuses = []
    for n in range(RATE_LIMIT + 1):
        port = (a, b)[n % 2]
        form = booking_form(client, port, service_id, practitioner_id, free[n], 100 + n)
        status, _h, html = client.go(port, "POST", "/book/", form)
        statuses.append((port, status, "Please call us to book more" in html))
    accepted = [s for s in statuses[:RATE_LIMIT] if s[1] == 302]
    refused = statuses[-1]
    report(
        len(accepted) == RATE_LIMIT,
        f"{RATE_LIMIT} requests from one client accepted, alternating instances",
        ", ".join(f":{p}→{s}" for p, s, _ in statuses[:RATE_LIMIT]),
    )
    report(refused[1] == 200 and refused[2], f"request {RATE_LIMIT + 1} refused by :{refused[0]} (limit shared)")


def check_concurrent_slot(a, b, service_id, practitioner_id, slot):
    forms = []
    for n in range(20):
        port = (a, b)[n % 2]
        browser = Browser(f"192.0.2.{n + 10}")
        forms.append((browser, port, booking_form(browser, port, service_id, practitioner_id, slot, 200 + n)))
    barrier = threading.Barrier(len(forms))

    def submit(item):
        browser, port, form = item
        barrier.wait()
        status, _h, html = browser.go(port, "POST", "/book/", form)
        return port, status, "just taken" in html

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        outcomes = list(pool.map(submit, forms))
    saved = [o for o in outcomes if o[1] == 302]
    taken = [o for o in outcomes if o[1] == 200 and o[2]]
    errors = [o for o in outcomes if o[1] >= 500]
    start = datetime.strptime(slot, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    rows = db_query(
        "SELECT count(*) FROM booking_booking WHERE practitioner_id = %s AND start = %s "
        "AND status IN ('requested', 'confirmed')",
        (practitioner_id, start),
    )
    count = rows[0][0]
    detail = (
        f"{len(saved)} saved, {len(taken)} told 'just taken', {len(errors)} errors; "
        f"ports {sorted({o[0] for o in outcomes})}; rows in database: {count}"
    )
    report(
        len(saved) == 1 and len(taken) == 19 and not errors and count == 1,
        "20 concurrent requests for one slot over both instances → exactly one booking",
        detail,
    )


def check_same_move_form_on_both(a, b, service_id, practitioner_id, slot):
    """The same move form (a double tap that a load balancer spread) reaches both instances at once:
    one move, one history event, one set of emails."""
    patient = Browser("198.51.100.31")
    status, headers, _html = patient.go(
        a, "POST", "/book/", booking_form(patient, a, service_id, practitioner_id, slot, 31)
    )
    path = urlsplit(headers.get("location", [""])[0]).path
    if not report(status == 302 and "/book/manage/" in path, "a booking to move, days ahead", f"status {status}"):
        return
    status, _h, html = patient.go(a, "GET", path + "move/")
    current = patient_slot_values = re.findall(r'name="slot"[^>]*value="(\d{8}T\d{4}Z)"', html)
    if not report(status == 200 and current, "move page with free times", f"status {status}"):
        return
    version = hidden(html, "version")
    move_form = {
        "csrfmiddlewaretoken": hidden(html, "csrfmiddlewaretoken"),
        "slot": patient_slot_values[-1],
        "version": version,
        "action": "move",
    }
    barrier = threading.Barrier(2)

    def submit(port):
        barrier.wait()
        return patient.go(port, "POST", path + "move/", move_form)[0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(submit, (a, b)))
    token_ref = db_query(
        "SELECT b.id, b.version FROM booking_booking b JOIN booking_bookingevent e ON e.booking_id = b.id "
        "WHERE e.note LIKE 'Moved%%' ORDER BY e.id DESC LIMIT 1"
    )
    booking_id = token_ref[0][0] if token_ref else 0
    moved = db_query(
        "SELECT count(*) FROM booking_bookingevent WHERE booking_id = %s AND note LIKE 'Moved%%'", (booking_id,)
    )[0][0]
    emails = db_query(
        "SELECT count(*) FROM booking_outboxemail WHERE booking_id = %s AND kind IN ('moved', 'moved_notice')",
        (booking_id,),
    )[0][0]
    report(
        codes == [302, 302] and moved == 1 and emails == 2,
        "the same move form sent to both instances at once → one move, one event, one set of emails",
        f"answers {codes}, 'Moved' events {moved}, move emails written {emails} (version {version})",
    )


def check_staff_session(a, b):
    staff = Browser("198.51.100.70")
    status, _h, html = staff.go(a, "GET", "/admin/login/?next=/admin/")
    form = {
        "csrfmiddlewaretoken": hidden(html, "csrfmiddlewaretoken"),
        "username": STAFF_USER,
        "password": STAFF_PASSWORD,
        "next": "/admin/",
    }
    status, headers, _html = staff.go(a, "POST", "/admin/login/?next=/admin/", form)
    report(status == 302 and "__Host-sessionid" in staff.cookies, f"staff login on :{a}", f"status {status}")
    for port in (a, b):
        status, _h, html = staff.go(port, "GET", "/admin/")
        report(status == 200 and STAFF_USER in html, f"staff session works on :{port}")
    status, _h, _t, _c = request(b, "GET", "/admin/", client_ip="198.51.100.71")
    report(status == 302, f"no session → login page on :{b}")


def check_shared_lockout(a, b):
    attacker = Browser("198.51.100.80")
    statuses = []
    for n in range(6):
        port = (a, b)[n % 2]
        _s, _h, html = attacker.go(port, "GET", "/admin/login/")
        form = {
            "csrfmiddlewaretoken": hidden(html, "csrfmiddlewaretoken"),
            "username": STAFF_USER,
            "password": f"wrong-{n}",
            "next": "/admin/",
        }
        status, _h, html = attacker.go(port, "POST", "/admin/login/", form)
        statuses.append(status)
    report(
        statuses[:4] == [200] * 4 and statuses[4:] == [429, 429],
        "admin lockout after 5 failures counted over both instances",
        f"statuses {statuses}",
    )


def check_gunicorn_limits(a):
    status, _h, _t, _c = request(a, "GET", "/robots.txt?q=" + "a" * 5000)
    report(status == 414, "request line over 4094 bytes refused by gunicorn", f"status {status}")
    status, _h, _t, _c = request(a, "GET", "/robots.txt", headers={"X-Big": "b" * 9000})
    # Through the proxy nginx refuses it first (400, its header buffers are 8 KiB).
    expected = (400, 431) if PROXY else (431,)
    report(status in expected, "header over 8190 bytes refused", f"status {status}")


def main(stack=None):
    """Run every check; ``stack`` (scripts/proxy_check.py) puts nginx in front and adds its own checks."""
    global LOCATION_ID
    started = time.monotonic()
    env = environment()
    step(f"fresh database {DB_NAME}, Redis {REDIS_URL} flushed")
    fresh_database()
    flush_redis()
    step("migrate, load_content, collectstatic, staff user")
    manage(env, "migrate", "--noinput")
    manage(env, "load_content")
    manage(env, "collectstatic", "--noinput")
    manage(env, "createsuperuser", "--noinput", "--username", STAFF_USER, "--email", "ops@clinic.example")

    service_id, practitioner_id = db_query(
        "SELECT s.id, p.id FROM booking_service s JOIN booking_service_practitioners sp ON sp.service_id = s.id "
        "JOIN clinic_practitioner p ON p.id = sp.practitioner_id "
        "WHERE s.is_active AND s.in_clinic AND p.is_active ORDER BY s.id, p.id LIMIT 1"
    )[0]
    LOCATION_ID = str(db_query("SELECT id FROM clinic_location WHERE is_active ORDER BY id LIMIT 1")[0][0])

    servers = []
    with tempfile.TemporaryDirectory(prefix="cluster-check-") as logdir:
        try:
            step(f"starting gunicorn on ports {PORTS[0]} and {PORTS[1]}")
            servers = start_servers(env, logdir)
            if stack:
                stack.start(logdir)
            a, b = PORTS
            free = slots(a, service_id, practitioner_id, RATE_LIMIT + 3)
            later = slots(a, service_id, practitioner_id, 60)  # the last is days ahead: still movable online
            if not report(len(free) >= RATE_LIMIT + 3, "free slots found through the booking page", f"{len(free)}"):
                return 1
            check_health_and_headers(a, b)
            check_booking_visible_on_both(a, b, service_id, practitioner_id, free[0])
            check_same_move_form_on_both(a, b, service_id, practitioner_id, later[-1])
            check_rate_limit_across_both(a, b, service_id, practitioner_id, free[1:])
            check_concurrent_slot(a, b, service_id, practitioner_id, free[RATE_LIMIT + 2])
            check_staff_session(a, b)
            check_shared_lockout(a, b)
            check_gunicorn_limits(a)
            if stack:
                stack.checks()
        except Exception as exc:  # noqa: BLE001  (report, then stop the servers)
            report(False, "cluster check crashed", f"{type(exc).__name__}: {exc}")
        finally:
            if stack:
                stack.stop()
            stop_servers(servers)
            if not all(results):
                for log in Path(logdir).glob("*.log"):
                    print(f"--- last lines of {log.name}")
                    print("\n".join(log.read_text(errors="replace").splitlines()[-30:]))
    passed, failed = results.count(True), results.count(False)
    print(f"\ncluster check: {passed} passed, {failed} failed in {time.monotonic() - started:.0f}s")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
