"""The front desk's patient search stays an index scan on PostgreSQL however the term is typed: a name word
through the trigram index on the search text, a phone number (any run of its digits, any format) through the
trigram index on the phone's digits alone. Checked with EXPLAIN at the size the clinic plans for (20,000
records), where a sequential scan would take tens of milliseconds."""

import random

import pytest
from django.db import connection

from booking import patients
from booking.management.commands.seed_bench_data import Command as Seed
from booking.models import Patient

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"),
]

PHONE_INDEX = "booking_patient_phone_digits_trgm"
SEARCH_INDEX = "booking_patient_search_trgm"


@pytest.fixture
def many_patients():
    seed = Seed()
    seed.rng = random.Random(7)
    seed.patients(20_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE booking_patient")


def plan(term):
    # As the admin's patient list asks: the first page of 50, by name, with each one's last visit.
    return patients.last_visits(patients.search(Patient.objects.all(), term)).order_by("name", "pk")[:50].explain()


def test_every_way_of_typing_is_an_index_scan(many_patients):
    # One test, one seeding: 20,000 records take a while to write.
    for typed in ["0012345", "(416) 001-2345", "+1 416 001 4321", "12345", "4321"]:
        explained = plan(typed)
        assert PHONE_INDEX in explained and "Seq Scan on booking_patient" not in explained, (typed, explained)
    for typed in ["rivera", "alex", "Côté", "alex rivera"]:
        explained = plan(typed)
        assert SEARCH_INDEX in explained and "Seq Scan on booking_patient" not in explained, (typed, explained)
