"""Markdown bodies rendered once, when saved: treatments, conditions and articles store their HTML and headings."""

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from clinic.markdown import render_markdown


class BodyMixin:
    """A Markdown `body` rendered once, when it is saved: pages read the stored HTML and headings.

    The models using it declare `body_rendered` and `body_toc` (see `rendered_body_fields`). Rows written without
    `save()` (bulk inserts) have no stored HTML yet and are rendered when shown, as before.
    """

    def render_body(self):
        """Render the body into the stored fields (done by `save()`)."""
        self.body_rendered, self.body_toc = render_markdown(self.body, with_toc=True)

    def save(self, *args, **kwargs):
        self.render_body()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_rendered", "body_toc"}
        super().save(*args, **kwargs)

    @cached_property
    def body_html_and_toc(self):
        """(sanitised HTML, headings) for the body: the stored rendering, or rendered now if there is none."""
        if self.body_rendered or not self.body:
            return self.body_rendered, self.body_toc or []
        return render_markdown(self.body, with_toc=True)

    @property
    def body_html(self):
        return self.body_html_and_toc[0]

    @property
    def toc(self):
        return self.body_html_and_toc[1]

    def absolute_url(self):
        return settings.SITE_URL + self.get_absolute_url()


def rendered_body_fields():
    """The stored rendering of a Markdown body: HTML and headings, never edited by hand."""
    return (
        models.TextField(_("body as HTML"), blank=True, default="", editable=False),
        models.JSONField(_("body headings"), blank=True, default=list, editable=False),
    )
