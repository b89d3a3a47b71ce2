"""One cached lookup of the clinic's facts for every page.

The facts change a few times a year but appear on every page, so they live in the shared cache
(all server instances see the same copy) and are dropped whenever staff save any of them
(``ClinicConfig.ready`` registers the models that bump the ``FACTS`` version).
"""

from dataclasses import dataclass, field

from . import caching

FACTS = "clinic-facts"
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
    facts, version = caching.get_versioned(FACTS, CACHE_KEY)
    if facts is None:
        facts = load_facts()
        caching.set_versioned(CACHE_KEY, facts, version, CACHE_SECONDS)
    return facts


def cached_facts():
    """The facts if they are in the cache, else None; never touches the database."""
    return caching.get_versioned(FACTS, CACHE_KEY)[0]
