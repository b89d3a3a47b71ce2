"""One cached lookup of the clinic's facts for every page.

The facts change a few times a year but appear on every page, so they live in the shared cache
(all server instances see the same copy) and are dropped whenever staff save any of them.
"""

from dataclasses import dataclass, field

from django.core.cache import cache

CACHE_KEY = "clinic:facts:v1"
CACHE_SECONDS = 60 * 60 * 24


@dataclass
class ClinicFacts:
    profile: object | None
    locations: list = field(default_factory=list)
    hours: list = field(default_factory=list)

    @property
    def main_location(self):
        return self.locations[0] if self.locations else None

    @property
    def banner(self):
        p = self.profile
        return p if p and p.banner_enabled and p.banner_text else None


def load_facts():
    from .models import ClinicProfile, Location, OpeningHours

    return ClinicFacts(
        profile=ClinicProfile.objects.first(),
        locations=list(Location.objects.filter(is_active=True)),
        hours=list(OpeningHours.objects.all()),
    )


def get_facts():
    facts = cache.get(CACHE_KEY)
    if facts is None:
        facts = load_facts()
        cache.set(CACHE_KEY, facts, CACHE_SECONDS)
    return facts


def clear_facts(**kwargs):
    cache.delete(CACHE_KEY)
