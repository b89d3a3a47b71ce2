"""The one-time sign-in code a returning patient asks for at /visits/."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SignInCode(models.Model):
    """One code emailed for one address: kept only as keyed hashes, valid a few minutes, used once, few tries.

    A row is written for every request, whether or not the address has visits (the same work either way), so
    the row says nothing about who is a patient; neither the address nor the code is stored in clear.
    """

    # Keyed hashes (HMAC with the site's secret key) of the folded address, and of the address with the code.
    address_digest = models.CharField(max_length=64, db_index=True, editable=False)
    code_digest = models.CharField(max_length=64, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    attempts = models.PositiveSmallIntegerField(_("tries"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")

    def __str__(self):
        return f"sign-in code #{self.pk}"
