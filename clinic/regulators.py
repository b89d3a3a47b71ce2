"""Ontario's health regulatory colleges whose members work at or for the clinic, and where a patient
checks a practitioner's registration on the college's public register.

The register links point to each college's own site (its public register is searched there by name or
registration number); deep links into register software change too often to be kept here.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class College(models.TextChoices):
    CPO = "cpo", _("College of Physiotherapists of Ontario")
    CMTO = "cmto", _("College of Massage Therapists of Ontario")
    CTCMPAO = "ctcmpao", _("College of Traditional Chinese Medicine Practitioners and Acupuncturists of Ontario")
    CPSO = "cpso", _("College of Physicians and Surgeons of Ontario")


REGISTER_URLS = {
    College.CPO: "https://www.collegept.org/",
    College.CMTO: "https://www.cmto.com/find-a-registered-massage-therapist/",
    College.CTCMPAO: "https://www.ctcmpao.on.ca/",
    College.CPSO: "https://www.cpso.on.ca/",
}


def register_url(college):
    return REGISTER_URLS.get(college, "")
