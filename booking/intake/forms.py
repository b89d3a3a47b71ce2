"""The patient's forms: the date-of-birth check and the questionnaire (built from its versioned definition)."""

import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import questionnaires as q

SHORT, LONG = 200, 2000
PHONE_CHARACTERS = re.compile(r"^[0-9+()\-.\s]{7,30}$")


class DateOfBirthForm(forms.Form):
    date_of_birth = forms.DateField(
        label=_("Your date of birth"),
        help_text=_("For example 1984-03-27 (year, month, day)."),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
        error_messages={"invalid": _("Enter the date as year-month-day, for example 1984-03-27.")},
    )

    def clean_date_of_birth(self):
        value = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if value > today or value.year < today.year - 130:
            raise forms.ValidationError(_("Enter your real date of birth."))
        return value


def _field(question, required):
    common = {"label": question.label, "required": required and question.required, "help_text": question.help}
    attrs = {"autocomplete": question.autocomplete} if question.autocomplete else {}
    if question.kind == q.LONG_TEXT:
        return forms.CharField(max_length=LONG, widget=forms.Textarea(attrs={"rows": 3, **attrs}), **common)
    if question.kind == q.PHONE:
        return forms.RegexField(
            regex=PHONE_CHARACTERS,
            max_length=30,
            error_messages={"invalid": _("Enter a phone number with digits, for example 416 555 0123.")},
            widget=forms.TextInput(attrs={"type": "tel", **attrs}),
            **common,
        )
    if question.kind in (q.YES_NO, q.YES_NO_UNSURE):
        choices = [(q.YES, _("Yes")), (q.NO, _("No"))]
        if question.kind == q.YES_NO_UNSURE:
            choices.append((q.UNSURE, _("Not sure")))
        return forms.ChoiceField(
            choices=choices,
            widget=forms.RadioSelect,
            error_messages={"required": _("Choose an answer.")},
            **common,
        )
    return forms.CharField(max_length=SHORT, widget=forms.TextInput(attrs=attrs), **common)


class QuestionnaireForm(forms.Form):
    """The questions of one questionnaire version, then the two consents and the typed signature.

    With ``finishing=False`` (Save and finish later) nothing is required: whatever was typed is kept as a draft.
    """

    signer_name = forms.CharField(
        label=_("Type your full name to sign"),
        max_length=SHORT,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    consent_treatment = forms.BooleanField(label=_("I have read the consent to treatment above and I agree to it."))
    consent_information = forms.BooleanField(
        label=_("I agree to the clinic collecting and using my health information as described above.")
    )

    def __init__(self, questionnaire, *args, finishing=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        consent_fields = {
            name: self.fields.pop(name) for name in ("signer_name", "consent_treatment", "consent_information")
        }
        for section in questionnaire.sections:
            for question in section.questions:
                self.fields[question.name] = _field(question, finishing)
        self.fields.update(consent_fields)
        if not finishing:
            for field in self.fields.values():
                field.required = False
        for field in self.fields.values():
            field.error_messages.setdefault("required", _("Please answer this question."))
        self.fields["signer_name"].error_messages["required"] = _("Type your full name to sign the form.")
        self.fields["consent_treatment"].error_messages["required"] = _("Tick the box to agree to treatment.")
        self.fields["consent_information"].error_messages["required"] = _(
            "Tick the box to agree to the collection of your health information."
        )

    def sections(self):
        """(section, [bound fields]) in the order asked, for the template."""
        return [(s, [self[question.name] for question in s.questions]) for s in self.questionnaire.sections]

    def answers(self):
        return {name: self.cleaned_data.get(name, "") for name in self.questionnaire.questions}

    def draft_values(self):
        """What was typed, trimmed to the fields' lengths, for "Save and finish later" (no validation)."""
        values = {}
        for name, field in self.fields.items():
            raw = self.data.get(name, "")
            if isinstance(field, forms.BooleanField):
                values[name] = bool(raw)
            elif isinstance(raw, str):
                values[name] = raw.strip()[: getattr(field, "max_length", None) or SHORT]
        return values

    def flags(self):
        answers = self.answers()
        return [q.flag for q in self.questionnaire.questions.values() if q.flags_on(answers.get(q.name))]

    def asked(self):
        """Every question as it was shown, with the patient's answer in words: kept with the record."""
        answers = self.answers()
        return [
            {
                "title": str(section.title),
                "items": [
                    {
                        "name": question.name,
                        "label": str(question.label),
                        "answer": _answer_in_words(self.fields[question.name], answers.get(question.name, "")),
                        "flag": question.flag if question.flags_on(answers.get(question.name)) else "",
                    }
                    for question in section.questions
                ],
            }
            for section in self.questionnaire.sections
        ]


def _answer_in_words(field, value):
    if isinstance(field, forms.ChoiceField):
        return str(dict(field.choices).get(value, ""))
    return value
