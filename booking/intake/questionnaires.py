"""The intake questionnaires and consent texts, versioned.

A published version is never edited: a change of questions or wording is a new version added below (and
made current). A submitted record keeps its form version, its consent versions and a copy of every question
as it was asked, so a later version never changes what a patient answered.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _


class Kind:
    PHYSIOTHERAPY = "physiotherapy"
    ACUPUNCTURE = "acupuncture"  # acupuncture and dry needling
    MYOTHERAPY = "myotherapy"

    CHOICES = [
        (PHYSIOTHERAPY, _("Physiotherapy")),
        (ACUPUNCTURE, _("Acupuncture or dry needling")),
        (MYOTHERAPY, _("Myotherapy")),
    ]


# The treatment a service belongs to (articles.Treatment slug) -> the questionnaire a first visit needs.
KIND_FOR_TREATMENT = {
    "physiotherapy": Kind.PHYSIOTHERAPY,
    "acupuncture": Kind.ACUPUNCTURE,
    "dry-needling": Kind.ACUPUNCTURE,
    "myotherapy": Kind.MYOTHERAPY,
}

TEXT, LONG_TEXT, PHONE, YES_NO, YES_NO_UNSURE = "text", "long_text", "phone", "yes_no", "yes_no_unsure"
YES, NO, UNSURE = "yes", "no", "unsure"


@dataclass(frozen=True)
class Question:
    name: str
    label: str
    kind: str = TEXT
    required: bool = False
    help: str = ""
    # A screening answer the practitioner must know before the visit: shown as "screening: <flag>".
    flag: str = ""
    autocomplete: str = ""

    def flags_on(self, answer):
        return bool(self.flag) and answer in (YES, UNSURE)


@dataclass(frozen=True)
class Section:
    title: str
    questions: tuple
    intro: str = ""


@dataclass(frozen=True)
class Questionnaire:
    kind: str
    version: int
    title: str
    sections: tuple
    treatment_consent: str  # a key of CONSENT_TEXTS
    information_consent: str
    questions: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "questions", {q.name: q for s in self.sections for q in s.questions})

    @property
    def key(self):
        return f"{self.kind}-{self.version}"


# Flag codes and how they read on the calendar and at the top of the practitioner's page.
FLAG_LABELS = {
    "anticoagulants": _("anticoagulants"),
    "bleeding": _("bleeding disorder"),
    "implant": _("pacemaker or implant"),
    "fainting": _("fainting or seizures"),
    "pregnancy": _("pregnancy"),
}


def flag_label(code):
    return FLAG_LABELS.get(code, code)


ABOUT_YOU = Section(
    _("How to reach you"),
    (
        Question("full_name", _("Your full name"), required=True, autocomplete="name"),
        Question("phone", _("Best phone number"), PHONE, required=True, autocomplete="tel"),
        Question("address", _("Home address"), LONG_TEXT, autocomplete="street-address"),
    ),
)
EMERGENCY = Section(
    _("Emergency contact"),
    (
        Question("emergency_name", _("Name"), required=True),
        Question("emergency_relationship", _("How they are related to you"), help=_("For example: partner, parent.")),
        Question("emergency_phone", _("Their phone number"), PHONE, required=True),
    ),
    intro=_("Someone we may call if you feel unwell during a visit."),
)
FAMILY_DOCTOR = Section(
    _("Family doctor or nurse practitioner"),
    (
        Question("doctor_name", _("Name"), help=_("Leave empty if you do not have one.")),
        Question("doctor_phone", _("Their clinic's phone number"), PHONE),
    ),
)
REASON = Section(
    _("Why you are coming in"),
    (
        Question("reason", _("What would you like help with?"), LONG_TEXT, required=True),
        Question("since_when", _("When did it start, and is it getting better, worse or staying the same?"), LONG_TEXT),
    ),
)
HISTORY = Section(
    _("Your health"),
    (
        Question(
            "conditions",
            _("Health conditions, past injuries or operations"),
            LONG_TEXT,
            help=_("For example diabetes, a heart condition, arthritis, a recent fracture. Write “none” if none."),
            required=True,
        ),
        Question(
            "medications",
            _("Medicines and supplements you take"),
            LONG_TEXT,
            help=_("Prescription and over the counter, with the dose if you know it. Write “none” if none."),
            required=True,
        ),
        Question("allergies", _("Allergies"), LONG_TEXT, help=_("Including latex, metals, tape or skin cleansers.")),
    ),
)
SCREENING = Section(
    _("Safety questions before needling or electrical stimulation"),
    (
        Question(
            "anticoagulants",
            _("Do you take a blood thinner, for example warfarin, apixaban, rivaroxaban or a daily aspirin?"),
            YES_NO,
            required=True,
            flag="anticoagulants",
        ),
        Question(
            "bleeding",
            _("Do you have a bleeding or clotting disorder, such as hemophilia, or do you bruise very easily?"),
            YES_NO,
            required=True,
            flag="bleeding",
        ),
        Question(
            "implant",
            _("Do you have a pacemaker, a defibrillator or another implanted device or metal implant?"),
            YES_NO,
            required=True,
            flag="implant",
        ),
        Question(
            "fainting",
            _("Have you ever fainted or had a seizure, including around needles or the sight of blood?"),
            YES_NO,
            required=True,
            flag="fainting",
        ),
        Question("pregnancy", _("Are you pregnant, or might you be?"), YES_NO_UNSURE, required=True, flag="pregnancy"),
        Question("screening_details", _("Anything you would like to add about these answers"), LONG_TEXT),
    ),
    intro=_(
        "Your practitioner reads these before your visit. A “yes” does not rule out treatment; it helps us "
        "choose what is safe for you."
    ),
)
GOALS = Section(
    _("Your goals"),
    (Question("goals", _("What would you like to be able to do again, or do more easily?"), LONG_TEXT, required=True),),
)

COMMON_SECTIONS = (ABOUT_YOU, EMERGENCY, FAMILY_DOCTOR, REASON, HISTORY, SCREENING, GOALS)

# Every version ever published, per kind; the last one is current. Add new versions, never edit old ones.
QUESTIONNAIRES = {
    Kind.PHYSIOTHERAPY: [
        Questionnaire(
            Kind.PHYSIOTHERAPY,
            1,
            _("Physiotherapy: health history and consent"),
            COMMON_SECTIONS,
            "treatment-physiotherapy-1",
            "information-1",
        )
    ],
    Kind.ACUPUNCTURE: [
        Questionnaire(
            Kind.ACUPUNCTURE,
            1,
            _("Acupuncture and dry needling: health history and consent"),
            COMMON_SECTIONS,
            "treatment-acupuncture-1",
            "information-1",
        )
    ],
    Kind.MYOTHERAPY: [
        Questionnaire(
            Kind.MYOTHERAPY,
            1,
            _("Myotherapy: health history and consent"),
            COMMON_SECTIONS,
            "treatment-myotherapy-1",
            "information-1",
        )
    ],
}


def current(kind):
    return QUESTIONNAIRES[kind][-1]


def by_key(key):
    """The questionnaire version named `key` ("acupuncture-1"), or None."""
    kind, _sep, version = key.rpartition("-")
    for questionnaire in QUESTIONNAIRES.get(kind, []):
        if str(questionnaire.version) == version:
            return questionnaire
    return None


NEEDLING_RISKS = _(
    "Needling is generally safe in trained hands, but it has risks. Common and minor: a small bruise or a spot "
    "of bleeding where a needle went in, soreness or aching for a day or two, and feeling tired or lightheaded "
    "afterwards. Less common: feeling faint or fainting during treatment, which is why you lie down and we "
    "ask about it first. Rare but serious: a needle placed over the chest could puncture a lung "
    "(pneumothorax); tell us straight away, or go to an emergency department, if you become short of breath "
    "or have chest pain after a visit."
)

# Consent texts, versioned like the questionnaires: a key names one wording forever.
CONSENT_TEXTS = {
    "treatment-physiotherapy-1": (
        _("Consent to physiotherapy"),
        [
            _(
                "Your physiotherapist will explain what they find and the treatment they suggest, such as "
                "exercise, hands-on therapy, dry needling or electrical stimulation, and what else you could do "
                "instead. You may ask questions, say no to any part, or stop at any time."
            ),
            _(
                "Exercise and hands-on treatment can leave you sore for a day or two. Electrical stimulation is "
                "not used if you have a pacemaker or another implanted device."
            ),
            NEEDLING_RISKS,
        ],
    ),
    "treatment-acupuncture-1": (
        _("Consent to acupuncture or dry needling"),
        [
            _(
                "Your practitioner will explain the treatment they suggest, where the needles will go and what "
                "else you could do instead. Needles are sterile, used once and thrown away. You may ask "
                "questions, say no to any part, or stop at any time."
            ),
            NEEDLING_RISKS,
        ],
    ),
    "treatment-myotherapy-1": (
        _("Consent to myotherapy"),
        [
            _(
                "Your myotherapist will explain the treatment they suggest, such as massage, stretching, "
                "exercise or dry needling, and what else you could do instead. You may ask questions, say no to "
                "any part, or stop at any time."
            ),
            _("Massage and stretching can leave you tender for a day or two."),
            NEEDLING_RISKS,
        ],
    ),
    "information-1": (
        _("Consent to collecting and using your health information"),
        [
            _(
                "We collect the health information on this form to assess and treat you safely. Only the "
                "practitioners who treat you and our privacy officer can read your answers; the front desk sees "
                "only that the form is complete and any safety flag your practitioner needs before the visit."
            ),
            _(
                "Your answers are stored encrypted, every reading of them is recorded, and they are never sent "
                "by email. We keep health records for the period our professional colleges require, then "
                "review them for secure destruction. You may ask to see or correct your record, or ask who has "
                "read it, by calling the clinic."
            ),
        ],
    ),
}
