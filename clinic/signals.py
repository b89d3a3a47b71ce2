"""Drop the cached clinic facts whenever staff change any of them."""

from django.db.models.signals import post_delete, post_save

from .facts import clear_facts
from .models import ClinicProfile, Location, OpeningHours

for model in (ClinicProfile, Location, OpeningHours):
    post_save.connect(clear_facts, sender=model, dispatch_uid=f"clear_facts_save_{model.__name__}")
    post_delete.connect(clear_facts, sender=model, dispatch_uid=f"clear_facts_delete_{model.__name__}")
