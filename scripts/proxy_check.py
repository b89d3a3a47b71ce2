"""The production stack end to end: nginx (deploy/nginx/clinic.conf, TLS with a self-signed certificate made
here) in front of two gunicorn instances sharing PostgreSQL and Redis.

    make proxy-check            (or: .venv/bin/python scripts/proxy_check.py)

1. Every cluster check (scripts/cluster_check.py) runs through nginx, each simulated client from its own
   loopback address, so the client address Django sees is the one nginx forwards (TRUSTED_PROXIES=127.0.0.1).
2. Slow clients: 50 slowloris connections (a header line every 0.5 s) and 10 slow bodies (a few bytes every
   0.5 s) are held open while /healthz is timed through the proxy; it must answer in under 1 s every time.
   The same attack straight at one gunicorn instance is timed too, for comparison.
3. The MDN HTTP Observatory grades the site through the proxy (scripts/observatory.mjs drives its library);
   the grade must be A+.
4. The page cache, as an attacker would try it: public pages are served from nginx's cache (HIT) with a 304 for
   a matching ETag, HEAD included; nothing with a form token, a session or patient data ever comes from it
   (cookies, odd query strings, HEAD, conditional requests, a signed-in staff member, a patient's own page), and
   staff see an edit at once while the public keeps the cached copy for at most s-maxage.

Environment: as cluster_check.py, plus PROXY_PORTS (http,https; default 8380,8443). Needs nginx and openssl
(Debian packages) and node with npm's packages installed (npm ci).
"""

import json
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))

import cluster_check as cc  # noqa: E402
import render_nginx  # noqa: E402

HTTP_PORT, HTTPS_PORT = (int(p) for p in os.environ.get("PROXY_PORTS", "8380,8443").split(","))
SLOWLORIS, SLOW_BODIES, LIMIT_SECONDS = 50, 10, 1.0


class ProxyStack:
    def __init__(self):
        self.nginx = None
        self.run_dir = None
        self.cert = None

    def start(self, logdir):
        self.run_dir = Path(logdir) / "nginx"
        self.cert, key = render_nginx.make_certificate(logdir, cc.HOST)
        site = render_nginx.render(
            server_name=cc.HOST,
            upstreams=[f"127.0.0.1:{port}" for port in cc.PORTS],
            cert=self.cert,
            key=key,
            http_port=HTTP_PORT,
            https_port=HTTPS_PORT,
            cache_dir=self.run_dir / "cache",
        )
        self.nginx = render_nginx.start_standalone(self.run_dir, site)
        cc.PROXY = {"http": HTTP_PORT, "https": HTTPS_PORT, "cafile": str(self.cert)}
        deadline = time.monotonic() + 15
        while True:
            try:
                if cc.request(0, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if self.nginx.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("nginx did not start; see " + str(self.run_dir / "error.log"))
            time.sleep(0.2)
        cc.step(f"nginx on :{HTTP_PORT} (http) and :{HTTPS_PORT} (https) in front of {cc.PORTS}")

    def stop(self):
        cc.PROXY = None
        if self.nginx and self.nginx.poll() is None:
            self.nginx.terminate()
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()

    def checks(self):
        check_page_cache()
        check_proxy_basics()
        check_slow_clients(self.cert)
        check_observatory(self.cert)


# --- Proxy basics --------------------------------------------------------------------------------------------


def check_proxy_basics():
    status, headers, _t, _c = cc.request(0, "GET", "/articles/?a=1", https=False)
    location = headers.get("location", [""])[0]
    cc.report(
        status == 301 and location == f"https://{cc.HOST}:{HTTPS_PORT}/articles/?a=1",
        "nginx: plain http → one 301 to https on the same host",
        location,
    )
    status, headers, _t, _c = cc.request(0, "GET", "/healthz")
    server = headers.get("server", [""])[0]
    cc.report(status == 200 and server == "nginx", "nginx: /healthz over https, no version in Server", server)
    big = {"name": "x" * (2 * 1024 * 1024)}
    status, _h, _t, _c = cc.request(0, "POST", "/book/", body=big)
    cc.report(status == 413, "nginx: a 2 MiB body is refused before gunicorn (413)", f"status {status}")
    spoofed = cc.request(0, "GET", "/healthz", client_ip="198.51.100.99", headers={"X-Forwarded-For": "6.6.6.6"})
    cc.report(spoofed[0] == 200, "nginx: a client's own X-Forwarded-For is overwritten, not trusted")
    # Sent in parallel so the burst outruns the allowed rate however slow this machine is at the moment.
    with ThreadPoolExecutor(max_workers=24) as pool:
        replies = pool.map(lambda _i: cc.request(0, "GET", "/robots.txt", client_ip="198.51.100.98"), range(240))
        statuses = [reply[0] for reply in replies]
    cc.report(429 in statuses, "nginx: request rate per client limited (429 after the burst)", f"{statuses.count(429)}")


# --- The page cache, tried as an attacker ---------------------------------------------------------------------


def _get(path, ip, method="GET", **headers):
    status, got, text, cookies = cc.request(0, method, path, client_ip=ip, headers=headers)
    return status, {k: v[0] for k, v in got.items()}, text, cookies


def _from_cache(headers):
    return headers.get("x-cache-status", "") in ("HIT", "STALE", "UPDATING", "REVALIDATED")


def check_page_cache():
    ip = "198.51.100.60"
    for path in ("/", "/articles/", "/treatments/", "/contact/", "/sitemap.xml"):
        _get(path, ip)
        status, headers, _text, cookies = _get(path, ip)
        cache_control = headers.get("cache-control", "")
        ok = status == 200 and _from_cache(headers) and "public" in cache_control and "s-maxage=" in cache_control
        cc.report(ok and not cookies, f"nginx: {path} served from the page cache, public, no cookie", cache_control)
    gzip = {"Accept-Encoding": "gzip"}  # as browsers send it (nginx weakens the ETag of a page it unzips)
    etag = _get("/articles/", ip, **gzip)[1].get("etag", "")
    status, headers, _text, _c = _get("/articles/", ip, **gzip, **{"If-None-Match": etag})
    cc.report(etag.startswith('"') and status == 304 and _from_cache(headers), "nginx: a matching strong ETag: 304")
    status, headers, text, _c = _get("/articles/", ip, method="HEAD")
    cc.report(status == 200 and text == "" and _from_cache(headers), "nginx: HEAD answered from the cache, no body")

    # Never from the cache: anything with a form token, a session, messages or patient data, and odd URLs.
    odd = ["/book/", "/book/?service=x", "/book/?visit=telehealth", "/book/times/?service=1", "/admin/login/",
           "/?utm_source=mail", "/articles/?treatment=made-up", "/articles/?q=cramps", "/articles/?page=1&page=1",
           "/contact/?x=%3Cscript%3E", "/no-such-page/", "/articles/no-such-article/", *cc.PATIENT_PAGES]  # fmt: skip
    leaks = []
    for path, attempt, method in ((p, a, m) for p in odd for a in range(2) for m in ("GET", "HEAD")):
        for extra in ({}, {"If-None-Match": etag}, {"Cookie": "messages=x"}):
            status, headers, text, _c = _get(path, f"198.51.100.{62 + attempt}", method, **extra)
            cache_control = headers.get("cache-control", "")
            if _from_cache(headers) or "public" in cache_control:
                leaks.append(f"{method} {path} {extra} → {status} {headers.get('x-cache-status')}")
            if "csrfmiddlewaretoken" in text and "no-store" not in cache_control:
                leaks.append(f"{method} {path}: a form token in a storable page")
    cc.report(not leaks, "nginx: no form, patient page, odd query, error or admin page ever comes from the cache",
              "; ".join(leaks[:5]))  # fmt: skip
    tokens = {cc.hidden(_get("/book/", "198.51.100.66")[2], "csrfmiddlewaretoken") for _ in range(3)}
    cc.report(len(tokens) == 3, "nginx: every visitor gets a fresh form token on /book/", f"{len(tokens)} distinct")
    for name, headers in (
        ("a session cookie", {"Cookie": "__Host-sessionid=forged"}),
        ("a messages cookie", {"Cookie": "a=1; messages=forged"}),
        ("an Authorization header", {"Authorization": "Basic Zm9vOmJhcg=="}),
    ):
        got = _get("/contact/", "198.51.100.67", **headers)[1]
        bypass = got.get("x-cache-status") == "BYPASS" and "no-store" in got.get("cache-control", "")
        cc.report(bypass, f"nginx: a request with {name} bypasses the cache, private, no-store", str(got))

    # Staff see an edit at once; the public keeps the cached copy for at most s-maxage.
    staff = cc.Browser("198.51.100.68")
    html = staff.go(0, "GET", "/admin/login/?next=/admin/")[2]
    form = {"csrfmiddlewaretoken": cc.hidden(html, "csrfmiddlewaretoken"), "username": cc.STAFF_USER,
            "password": cc.STAFF_PASSWORD, "next": "/admin/"}  # fmt: skip
    staff.go(0, "POST", "/admin/login/?next=/admin/", form)
    _get("/contact/", ip)
    max_age = int(re.search(r"s-maxage=(\d+)", _get("/contact/", ip)[1].get("cache-control", "")).group(1))
    cc.manage(cc.environment(), "shell", "-c", "from clinic.models import ClinicProfile as P; p = P.objects.get(); "
              "p.name = 'Edited Clinic Name'; p.save()")  # fmt: skip
    staff_html, (_s, public, public_html, _c) = staff.go(0, "GET", "/contact/")[2], _get("/contact/", ip)
    cc.report(
        "Edited Clinic Name" in staff_html and "Edited Clinic Name" not in public_html and _from_cache(public)
        and max_age <= 60,
        f"nginx: staff see an edit at once; the public gets the cached page (s-maxage={max_age} s)",
    )  # fmt: skip


# --- Slow clients --------------------------------------------------------------------------------------------


def _tls_socket(port, source, cafile, use_tls=True):
    raw = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    if not use_tls:
        return raw
    context = ssl.create_default_context(cafile=cafile)
    return context.wrap_socket(raw, server_hostname=cc.HOST)


def _slowloris(port, index, cafile, use_tls, stop):
    try:
        sock = _tls_socket(port, f"127.9.0.{index + 1}", cafile, use_tls)
        sock.sendall(f"GET /?slow={index} HTTP/1.1\r\nHost: {cc.HOST}\r\n".encode())
        while not stop.is_set():
            sock.sendall(f"X-Slow-{index}: {time.monotonic():.0f}\r\n".encode())
            stop.wait(0.5)
        sock.close()
    except OSError:
        pass  # nginx may drop a slow client; that is the point


def _slow_body(port, index, cafile, use_tls, stop):
    try:
        sock = _tls_socket(port, f"127.9.1.{index + 1}", cafile, use_tls)
        sock.sendall(
            (f"POST /book/ HTTP/1.1\r\nHost: {cc.HOST}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             f"Content-Length: 100000\r\n\r\n").encode()
        )  # fmt: skip
        while not stop.is_set():
            sock.sendall(b"name=slow&")
            stop.wait(0.5)
        sock.close()
    except OSError:
        pass


def _time_health(port, use_tls, cafile, samples=12, timeout=5.0):
    """/healthz response times in seconds (None for a timeout), each on a fresh connection."""
    times = []
    for _ in range(samples):
        started = time.monotonic()
        try:
            sock = _tls_socket(port, "127.8.0.1", cafile, use_tls)
            sock.settimeout(timeout)
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {cc.HOST}\r\nConnection: close\r\n\r\n".encode())
            data = sock.recv(64)
            sock.close()
            times.append(time.monotonic() - started if data.startswith(b"HTTP/1.1 200") else None)
        except OSError:
            times.append(None)
        time.sleep(0.25)
    return times


def _under_attack(port, use_tls, cafile):
    stop = threading.Event()
    threads = [
        threading.Thread(target=_slowloris, args=(port, i, cafile, use_tls, stop), daemon=True)
        for i in range(SLOWLORIS)
    ] + [threading.Thread(target=_slow_body, args=(port, i, cafile, use_tls, stop), daemon=True) for i in range(10)]
    for thread in threads:
        thread.start()
    time.sleep(2)  # every slow connection open and trickling
    try:
        return _time_health(port, use_tls, cafile)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)


def _describe(times):
    done = [t for t in times if t is not None]
    timeouts = len(times) - len(done)
    if not done:
        return f"{timeouts}/{len(times)} timed out"
    return (
        f"min {min(done) * 1000:.0f} ms, median {statistics.median(done) * 1000:.0f} ms, "
        f"max {max(done) * 1000:.0f} ms, {timeouts} timed out of {len(times)}"
    )


def check_slow_clients(cafile):
    quiet = _time_health(HTTPS_PORT, True, cafile, samples=6)
    print(f"      /healthz through nginx, quiet: {_describe(quiet)}", flush=True)
    attacked = _under_attack(HTTPS_PORT, True, cafile)
    print(
        f"      /healthz through nginx with {SLOWLORIS} slowloris connections and {SLOW_BODIES} slow bodies open: "
        f"{_describe(attacked)}",
        flush=True,
    )
    cc.report(
        all(t is not None and t < LIMIT_SECONDS for t in attacked),
        f"/healthz answers in under {LIMIT_SECONDS:.0f} s through nginx while {SLOWLORIS} slowloris connections "
        f"and {SLOW_BODIES} slow bodies are open",
        _describe(attacked),
    )
    direct = _under_attack(cc.PORTS[0], False, cafile)
    print(f"      for comparison, the same attack straight at gunicorn :{cc.PORTS[0]}: {_describe(direct)}", flush=True)


# --- MDN HTTP Observatory --------------------------------------------------------------------------------------


def check_observatory(cafile):
    script = cc.ROOT / "scripts" / "observatory.mjs"
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(cafile)}
    result = subprocess.run(
        ["node", str(script), cc.HOST, str(HTTP_PORT), str(HTTPS_PORT)],
        cwd=cc.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        cc.report(False, "MDN HTTP Observatory grade", (result.stderr or result.stdout)[-500:])
        return
    graded = json.loads(result.stdout.strip().splitlines()[-1])
    failed = [name for name, test in graded["tests"].items() if not test["pass"]]
    print(f"      MDN HTTP Observatory: grade {graded['grade']}, score {graded['score']}, "
          f"{graded['passed']}/{graded['total']} tests passed", flush=True)  # fmt: skip
    for name, test in sorted(graded["tests"].items()):
        print(f"        {name:32} {test['result']} ({test['modifier']:+d})", flush=True)
    cc.report(graded["grade"] == "A+", "MDN HTTP Observatory grade A+", f"grade {graded['grade']}; failed: {failed}")


if __name__ == "__main__":
    sys.exit(cc.main(ProxyStack()))
