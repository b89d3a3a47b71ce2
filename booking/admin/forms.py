"""The small forms of the booking admin: hours without overlaps, a video link, a decline reason.

A new time uses booking.forms.MoveForm, the same form as the patient's move page."""

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import WorkingHours


class WorkingHoursFormSet(BaseInlineFormSet):
    """Catch overlaps between rows of the same form too (the model only checks saved rows)."""

    def clean(self):
        super().clean()
        seen = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            weekday, start, end = data.get("weekday"), data.get("start"), data.get("end")
            if weekday is None or start is None or end is None:
                continue
            for other_day, other_start, other_end in seen:
                if weekday == other_day and start < other_end and other_start < end:
                    raise ValidationError(
                        gettext("Two rows of hours overlap on %(day)s (%(a)s and %(b)s). Change or remove one.")
                        % {
                            "day": dict(WorkingHours._meta.get_field("weekday").choices)[weekday],
                            "a": f"{start:%H:%M}–{end:%H:%M}",
                            "b": f"{other_start:%H:%M}–{other_end:%H:%M}",
                        }
                    )
            seen.append((weekday, start, end))


class VideoLinkForm(forms.Form):
    telehealth_url = forms.URLField(
        label=_("Video link"),
        required=False,
        assume_scheme="https",
        help_text=_("The link the patient opens for the video visit, e.g. https://video.example/room/123"),
    )

    def __init__(self, *args, booking, **kwargs):
        super().__init__(*args, **kwargs)
        self.booking = booking
        self.fields["telehealth_url"].initial = booking.telehealth_url
        self.fields["telehealth_url"].required = booking.is_telehealth and not booking.practitioner.video_room_url

    def clean_telehealth_url(self):
        url = self.cleaned_data["telehealth_url"]
        if url and not url.startswith("https://"):
            raise forms.ValidationError(gettext("Use a secure link that starts with https://."))
        return url


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason, sent to the patient"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_(
            "Plain and kind, e.g. “We have no physiotherapy times that week; please call us.” No health details."
        ),
        error_messages={"required": _("Please give a reason: the patient reads it in the email.")},
    )
