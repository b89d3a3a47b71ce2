#!/usr/bin/env python
"""Profile one page rendered by Django (an nginx miss), on the benchmark-sized database (pyinstrument).

    python scripts/profile_page.py                       # the newest article, 200 renders
    python scripts/profile_page.py /articles/ -n 100     # another page
    python scripts/profile_page.py --site build/old-site # another checkout of the site
    python scripts/profile_page.py --redis redis://127.0.0.1:6379/0  # the shared cache the benchmark uses

Builds build/profile/profile.sqlite3 once (migrations, the content command, seed_bench_data: 500 articles),
then renders the page through the whole middleware stack with production settings (DEBUG off), with a query
parameter no page reads, after a few warm-up renders. Prints the CPU time per render without
the profiler (best of 5 rounds), the time per render under it and the profile's top lines; the full profile
goes to build/profile/<page>.html. With --redis the site uses Redis (under a key prefix of its own), as in
production and the benchmark; without it, the in-process cache.
"""

import argparse
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "profile"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="page to render (default: the newest article)")
    parser.add_argument("-n", type=int, default=200, help="renders to profile")
    parser.add_argument("--site", help="another checkout of the site")
    parser.add_argument("--lines", type=int, default=25, help="profile lines to print")
    parser.add_argument("--redis", help="Redis URL for the shared cache (default: the in-process cache)")
    args = parser.parse_args()
    site = Path(args.site).resolve() if args.site else ROOT
    BUILD.mkdir(parents=True, exist_ok=True)
    db = BUILD / f"{site.name}-bench.sqlite3"
    os.environ.update(
        DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0",
        DATABASE_URL=f"sqlite:///{db}", LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="config.settings",
    )  # fmt: skip
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CACHE_URL", None)
    if args.redis:
        os.environ.update(REDIS_URL=args.redis, CACHE_KEY_PREFIX=f"clinic-profile-{secrets.token_hex(4)}")
    if not db.exists():
        for command in (
            ["migrate", "-v0"],
            ["load_content"],
            ["seed_bench_data"],
            ["collectstatic", "--noinput", "-v0"],
        ):
            subprocess.run([sys.executable, "manage.py", *command], cwd=site, check=True, stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(site))
    os.chdir(site)
    import django

    django.setup()
    from django.test import Client
    from pyinstrument import Profiler

    from articles.models import Article

    path = args.path or Article.objects.published().order_by("-published_at").first().get_absolute_url()
    url = path + ("&" if "?" in path else "?") + "profile=1"  # a parameter no page reads
    client = Client(HTTP_ACCEPT_ENCODING="gzip")
    for _ in range(5):
        assert client.get(url).status_code == 200
    rounds = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(args.n):
            client.get(url)
        rounds.append((time.process_time() - started) / args.n * 1000)
    print(f"{url}: {min(rounds):.2f} ms CPU per render without the profiler (best of 5 x {args.n})")
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    with profiler:
        for _ in range(args.n):
            client.get(url)
    per_render = (time.perf_counter() - started) / args.n * 1000
    print(f"{url}: {per_render:.1f} ms per render ({args.n} renders, profiled)")
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    print("\n".join(text.splitlines()[: args.lines + 8]))
    out = BUILD / (path.strip("/").replace("/", "_") or "home")
    Path(str(out) + ".html").write_text(profiler.output_html())


if __name__ == "__main__":
    main()
