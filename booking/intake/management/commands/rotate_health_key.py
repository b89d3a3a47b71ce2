"""Re-encrypt every stored piece of health information with the newest key in HEALTH_DATA_KEYS.

    1. Generate a key:  python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'
    2. Put it FIRST in HEALTH_DATA_KEYS ("new,old") on every instance and worker; restart them.
    3. manage.py rotate_health_key
    4. Remove the old key from HEALTH_DATA_KEYS; restart.

Safe to run again or to interrupt: each row is re-encrypted in its own short transaction, and a value already
under the newest key is simply encrypted again.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from booking.intake import crypto
from booking.intake.models import IntakeForm, IntakeRecord

ENCRYPTED = [(IntakeRecord, ["content", "flags"]), (IntakeForm, ["draft", "dob_on_first_use"])]


class Command(BaseCommand):
    help = "Re-encrypt health information with the newest key in HEALTH_DATA_KEYS."

    def handle(self, *args, **options):
        for model, fields in ENCRYPTED:
            count = 0
            for pk in model.objects.values_list("pk", flat=True).iterator():
                with transaction.atomic():
                    row = model.objects.select_for_update().filter(pk=pk).first()
                    if row is None:
                        continue
                    for name in fields:
                        setattr(row, name, crypto.rotate(getattr(row, name)))
                    row.save(update_fields=fields)
                    count += 1
            self.stdout.write(f"{model._meta.verbose_name_plural}: {count} re-encrypted.")
        self.stdout.write(self.style.SUCCESS("Done. The old key can now be removed from HEALTH_DATA_KEYS."))
