"""clinic/caching.py: one failure rule, versions that every instance sees, registration by the apps."""

from unittest import mock

import pytest
from django.core.cache import cache

from articles.models import Article
from booking.models import Booking, Service
from booking.scheduling.availability import AVAILABILITY
from clinic import caching
from clinic.facts import FACTS
from clinic.models import ClinicProfile, Practitioner


def test_a_broken_cache_reads_as_empty_and_writes_do_nothing():
    with (
        mock.patch.object(cache, "get", side_effect=ConnectionError),
        mock.patch.object(cache, "set", side_effect=ConnectionError),
    ):
        assert caching.get("k", "fallback") == "fallback"
        caching.set("k", 1, 10)  # no exception
        assert caching.get_versioned("thing", "k") == (None, mock.ANY)


def test_bump_hides_entries_stored_under_the_old_version():
    value, token = caching.get_versioned("thing", "entry")
    assert value is None
    caching.set_versioned("entry", "cached", token, 60)
    assert caching.get_versioned("thing", "entry")[0] == "cached"
    caching.bump("thing")
    assert caching.get_versioned("thing", "entry")[0] is None


def test_an_evicted_version_never_revives_old_entries():
    token = caching.version("thing")
    caching.set_versioned("entry", "cached", token, 60)
    cache.delete(caching.version_key("thing"))
    assert caching.get_versioned("thing", "entry")[0] is None


def test_each_app_registers_what_invalidates_its_entries():
    assert caching.CONTENT in caching.names_for(Article)
    assert caching.CONTENT in caching.names_for(Service)
    assert AVAILABILITY in caching.names_for(Service)
    assert AVAILABILITY in caching.names_for(Practitioner)
    assert FACTS in caching.names_for(ClinicProfile)
    assert caching.names_for(Booking) == {AVAILABILITY}  # a new booking never flushes public pages


@pytest.mark.django_db
def test_saving_a_watched_model_bumps_its_version(django_capture_on_commit_callbacks):
    before = caching.version(FACTS)
    with django_capture_on_commit_callbacks(execute=True):
        ClinicProfile.objects.create(name="Clinic")
    assert caching.version(FACTS) != before
