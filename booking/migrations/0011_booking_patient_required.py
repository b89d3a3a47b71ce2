import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("booking", "0010_patients_for_bookings")]

    operations = [
        migrations.AlterField(
            model_name="booking",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="bookings",
                to="booking.patient",
                verbose_name="patient",
            ),
        ),
    ]
