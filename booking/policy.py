"""How the clinic handles online requests: one row, edited in admin as "Booking policy"."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic import caching


class BookingPolicy(models.Model):
    """How the clinic handles online requests: one row, edited in admin."""

    CACHE_NAME = "booking-policy"

    confirm_instantly = models.BooleanField(
        _("confirm online requests instantly"),
        default=False,
        help_text=_("When on, a request for a free time is confirmed at once instead of waiting for staff review."),
    )

    class Meta:
        verbose_name = _("booking policy")
        verbose_name_plural = _("booking policy")

    def __str__(self):
        return str(self._meta.verbose_name).capitalize()

    @classmethod
    def current(cls):
        """The policy in force (defaults when none is saved), from the shared cache when possible."""
        policy, version = caching.get_versioned(cls.CACHE_NAME, "booking:policy")
        if policy is None:
            policy = cls.objects.order_by("pk").first() or cls()
            caching.set_versioned("booking:policy", policy, version, 60 * 60 * 24)
        return policy
