from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = _("Articles and treatments")

    def ready(self):
        from clinic import caching

        # Public pages show every model of this app.
        caching.bump_on_change(caching.CONTENT, self.get_models(include_auto_created=True))
