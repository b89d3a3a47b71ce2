"""Load the clinic's own facts and team from clinic/content/ (idempotent: creates what is missing,
never changes a row that already exists, so staff edits in admin survive)."""

import json
import tomllib
from datetime import time
from pathlib import Path

from .models import ClinicProfile, Location, OpeningHours, Practitioner

CONTENT_DIR = Path(__file__).resolve().parent / "content"


def read_front_matter(path):
    """Split a Markdown file with TOML front matter between `+++` lines into (dict, body)."""
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("+++", 2)
    return tomllib.loads(front), body.strip() + "\n"


def _time(value):
    return time.fromisoformat(value) if value else None


def load(log=print):
    data = json.loads((CONTENT_DIR / "clinic.json").read_text(encoding="utf-8"))
    created = 0
    if not ClinicProfile.objects.exists():
        ClinicProfile.objects.create(**data["profile"])
        created += 1
    for order, loc in enumerate(data["locations"]):
        _, new = Location.objects.get_or_create(slug=loc["slug"], defaults={**loc, "order": order})
        created += new
    for h in data["hours"]:
        _, new = OpeningHours.objects.get_or_create(
            weekday=h["weekday"], defaults={"opens": _time(h["opens"]), "closes": _time(h["closes"])}
        )
        created += new
    for path in sorted((CONTENT_DIR / "practitioners").glob("*.md")):
        meta, body = read_front_matter(path)
        _, new = Practitioner.objects.get_or_create(
            slug=meta["slug"],
            defaults={
                "name": meta["name"],
                "title": meta["title"],
                "credentials": meta.get("credentials", ""),
                "summary": meta.get("summary", ""),
                "bio": body,
                "order": meta.get("order", 0),
                "college": meta.get("college", ""),
                "registration_number": meta.get("registration_number", ""),
                "sees_patients": meta.get("sees_patients", True),
                "is_clinical_reviewer": meta.get("clinical_reviewer", False),
            },
        )
        created += new
    log(f"clinic: {created} new rows")
    return created


def practitioner_treatments():
    """slug -> treatment slugs, for the articles loader to link (clinic cannot import articles)."""
    result = {}
    for path in sorted((CONTENT_DIR / "practitioners").glob("*.md")):
        meta, _ = read_front_matter(path)
        result[meta["slug"]] = meta.get("treatments", [])
    return result
