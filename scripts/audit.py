"""Lighthouse (mobile) on a production-like local server: home, an article, a treatment page and /book/.

Starts gunicorn with DEBUG off, collected static files and a fresh SQLite database in build/audit/, runs the
npm `lighthouse` (13 from package.json; 12.8 if 13 cannot run on this Node) against Debian's Chromium, prints
the four category scores per page and writes them to build/audit/summary.json. Run with `make audit`.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "audit"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking"
    " --disable-component-update --disable-sync"
)
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
FALLBACK = "lighthouse@12.8.2"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, env, **kwargs):
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, **kwargs)


def wait_for(url, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer {url} within {seconds} s")


def lighthouse_commands():
    local = ROOT / "node_modules" / ".bin" / "lighthouse"
    if not local.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
    return [[str(local)], ["npx", "--yes", FALLBACK]]


def audit(commands, name, url):
    base = OUT / name
    # Each Lighthouse is tried twice (a trace sometimes fails, e.g. NO_NAVSTART) before the fallback is used.
    for cmd in [c for c in commands for _attempt in (1, 2)]:
        result = subprocess.run(
            [
                *cmd,
                url,
                "--quiet",
                "--form-factor=mobile",
                f"--only-categories={','.join(CATEGORIES)}",
                "--output=json",
                "--output=html",
                f"--output-path={base}",
                f"--chrome-flags={CHROME_FLAGS}",
            ],
            cwd=ROOT,
            env={**os.environ, "CHROME_PATH": CHROME},
            capture_output=True,
            text=True,
            check=False,
        )
        report = Path(f"{base}.report.json")
        if result.returncode == 0 and report.exists():
            if cmd is not commands[0]:
                commands.remove(commands[0])  # the fallback worked: use it for the other pages too
            return json.loads(report.read_text())
        print(f"{' '.join(cmd)} failed on {url}:\n{result.stderr[-2000:]}", file=sys.stderr)
    raise SystemExit(f"Lighthouse could not audit {url}")


def main():
    if not Path(CHROME).exists():
        raise SystemExit(f"Chromium not found at {CHROME}: apt-get install -y chromium")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    port = free_port()
    db = OUT / "audit.sqlite3"
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{db}",
        "SITE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("CACHE_URL", None)
    env.pop("REDIS_URL", None)
    run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    run([PYTHON, "manage.py", "load_content"], env)
    run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], env)
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
        cwd=ROOT,
        env=env,
        stdout=open(OUT / "gunicorn.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        home = wait_for(base + "/")
        article = re.search(r'href="(/articles/(?!feed/)[\w-]+/)"', home).group(1)
        treatment = re.search(r'href="(/treatments/[\w-]+/)"', home).group(1)
        pages = {"home": "/", "article": article, "treatment": treatment, "book": "/book/"}
        commands = lighthouse_commands()
        summary = {"pages": {}}
        for name, path in pages.items():
            report = audit(commands, name, base + path)
            summary.setdefault("lighthouse", {})[name] = report.get("lighthouseVersion")
            cats = report["categories"]
            failing = sorted(
                audit_id
                for cat in cats.values()
                for ref in cat["auditRefs"]
                if ref["weight"] > 0
                and (audit_id := ref["id"])
                and (score := report["audits"][audit_id]["score"]) is not None
                and score < 1
            )
            summary["pages"][name] = {
                "url": path,
                "scores": {c: round(cats[c]["score"] * 100) for c in CATEGORIES},
                "audits_below_100": failing,
            }
    finally:
        server.terminate()
        server.wait(timeout=10)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    versions = ", ".join(sorted(set(summary["lighthouse"].values())))
    print(f"\nLighthouse {versions} (mobile)")
    print(f"{'page':<10} " + " ".join(f"{c:>14}" for c in CATEGORIES))
    for name, data in summary["pages"].items():
        print(f"{name:<10} " + " ".join(f"{data['scores'][c]:>14}" for c in CATEGORIES))
    for name, data in summary["pages"].items():
        if data["audits_below_100"]:
            print(f"  {name}: below 100 in {', '.join(data['audits_below_100'])}")
    print(f"\nReports: {OUT.relative_to(ROOT)}/*.report.html; summary: {(OUT / 'summary.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
