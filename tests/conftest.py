"""Shared fixtures for the clinic's tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    # Each test starts with an empty cache so cached facts or pages never leak between tests.
    cache.clear()
    yield
    cache.clear()
