"""Shared fixtures for the clinic's tests (test data itself is built in tests/factories.py)."""

import os
from datetime import datetime

import pytest
from django.core.cache import cache

from tests.factories import FrontDeskClinic


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need what only PostgreSQL guarantees: skipped on any other database."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clear_cache():
    # Each test starts with an empty cache so cached facts or pages never leak between tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def run_on_commit(monkeypatch):
    """Test transactions never commit, so run after-commit work (cache version bumps) at once."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


@pytest.fixture
def desk_clinic(db):
    """Two practitioners (Pat, Sam), one service and a front-desk user (``.desk``)."""
    return FrontDeskClinic()


@pytest.fixture
def desk(client, desk_clinic):
    """A client signed in as the front desk of ``desk_clinic``."""
    client.force_login(desk_clinic.desk)
    return client


@pytest.fixture
def deliver():
    """Run the email worker once over what is due (as `manage.py run_worker` does); returns the mail sent.

    Web requests only write outbox rows, so a test that checks email runs the worker, like production.
    """
    from django.core import mail

    from booking.notifications.outbox import drain

    def run():
        drain()
        return mail.outbox

    return run


@pytest.fixture
def worker_runs(deliver):
    """`with worker_runs(): ...` — the email worker runs over the outbox when the block ends."""
    from contextlib import contextmanager

    @contextmanager
    def block():
        yield
        deliver()

    return block


@pytest.fixture(autouse=True)
def _clinic_clock(request):
    """CLINIC_TEST_NOW (e.g. "2026-12-31T23:30", clinic time) runs every test at that moment, clock ticking.

    CI uses it to run the suite at awkward moments (late evening, just after midnight, the daylight-saving
    changes, New Year's Eve). Browser tests keep the real clock: the browser's cookies follow it.
    """
    moment = os.environ.get("CLINIC_TEST_NOW")
    if not moment or request.node.get_closest_marker("e2e"):
        yield
        return
    import time_machine
    from django.utils import timezone

    when = datetime.fromisoformat(moment)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.get_default_timezone())
    with time_machine.travel(when, tick=True):
        yield


@pytest.fixture(scope="session")
def staff_groups_as_migrated(django_db_setup, django_db_blocker):
    """The staff groups the migrations made (Front desk, Practitioner, Editor, Privacy officer) and their
    permissions, read once after the test database is migrated."""
    from django.contrib.auth.models import Group

    with django_db_blocker.unblock():
        return {
            group.name: list(group.permissions.values_list("content_type__app_label", "codename"))
            for group in Group.objects.all()
        }


@pytest.fixture(autouse=True)
def _staff_groups(request):
    """A transactional test (a browser test, a real-concurrency test) ends by emptying every table, so the
    groups made by data migrations are gone for the tests after it; put them back as migrated, whatever the
    order the tests run in."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if not transactional:
        yield
        return
    from django.contrib.auth.models import Group, Permission

    groups = request.getfixturevalue("staff_groups_as_migrated")
    request.getfixturevalue("transactional_db")
    if not Group.objects.exists():
        for name, perms in groups.items():
            group = Group.objects.create(name=name)
            for app_label, codename in perms:
                group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    yield
