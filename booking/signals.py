"""Keep cached availability honest: any change to what decides free times replaces its version."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from .availability import bump_availability_version
from .models import Booking, Closure, Service, TimeOff, WorkingHours


def _changed(sender, **kwargs):
    bump_availability_version()
    # Again after commit: a request that read the old rows before the commit must not keep them cached.
    transaction.on_commit(bump_availability_version, using=kwargs.get("using"))


def connect():
    from clinic.models import Practitioner

    for model in (Booking, WorkingHours, TimeOff, Closure, Service, Practitioner):
        post_save.connect(_changed, sender=model, dispatch_uid=f"availability_save_{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"availability_delete_{model.__name__}")
    m2m_changed.connect(_changed, sender=Service.practitioners.through, dispatch_uid="availability_service_staff")
