"""Data moved between apps by a migration survives the move (and the way back)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("booking", "0004_bulk_access"), ("clinic", "0003_practitioner_registration")]
AFTER = [("booking", "0005_bookingpolicy"), ("clinic", "0004_remove_clinicprofile_confirm_instantly")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_instant_confirmation_moves_from_the_clinic_profile_to_the_booking_policy():
    try:
        old = _migrate(BEFORE)
        old.get_model("clinic", "ClinicProfile").objects.create(
            name="Clinic", phone="(416) 555-0100", email="desk@clinic.example", confirm_instantly=True
        )
        new = _migrate(AFTER)
        assert new.get_model("booking", "BookingPolicy").objects.get().confirm_instantly is True
        old = _migrate(BEFORE)
        assert old.get_model("clinic", "ClinicProfile").objects.get().confirm_instantly is True
    finally:
        _migrate(_migrate_leaves())


def _migrate_leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
