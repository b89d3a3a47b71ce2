#!/usr/bin/env python
"""Time the front desk's patient search on a database with many patients (PostgreSQL: the trigram index).

    DATABASE_URL=postgres://…/clinic_bench python scripts/bench_patient_search.py            # tops up to 20,000
    DATABASE_URL=… python scripts/bench_patient_search.py --patients 20000 --max-ms 50       # exit 1 if slower

Each term is searched as the admin's patient list searches it (booking.patients.search, first page of 50
with the last visit), several times; the median of the runs is reported per term, in milliseconds.
Patients are created by ``manage.py seed_bench_data --patients N`` rules (only the patients part).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from booking import patients  # noqa: E402
from booking.management.commands.seed_bench_data import Command as Seed  # noqa: E402
from booking.models import Patient  # noqa: E402

# Names (common words and a pair), phone digits typed several ways (a run, the end, formatted), an email, nothing.
TERMS = ["rivera", "alex", "alex rivera", "Côté", "416 555", "(416) 001-2345", "0012345", "12345"]
TERMS += ["bench-patient-1999@", "zzz"]


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--max-ms", type=float, default=None)
    args = parser.parse_args(argv)
    call_command("migrate", verbosity=0)
    seed = Seed()
    import random

    seed.rng = random.Random(7)
    seed.patients(args.patients)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE") if connection.vendor == "postgresql" else None
    total = Patient.objects.count()
    print(f"{connection.vendor}: {total} patients")
    worst = 0.0
    for term in TERMS:
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            rows = list(patients.last_visits(patients.search(Patient.objects.all(), term)).order_by("name", "pk")[:50])
            times.append((time.perf_counter() - began) * 1000)
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"  {term!r:28} {len(rows):3d} shown  median {median:6.2f} ms  max {max(times):6.2f} ms")
    if args.max_ms is not None and worst > args.max_ms:
        print(f"slower than {args.max_ms} ms")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
