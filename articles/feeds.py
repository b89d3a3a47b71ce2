"""RSS feed of the clinic's public articles."""

from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from clinic.facts import get_facts

from .models import Article


class ArticleFeed(Feed):
    link = reverse_lazy("articles:article_list")

    def title(self):
        profile = get_facts().profile
        return _("Articles from %(name)s") % {"name": profile.name} if profile else _("Articles")

    def description(self):
        return _("Articles on muscle cramps, spasms and strains and the treatments that may help.")

    def items(self):
        return Article.objects.published().with_card_data()[:20]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.summary

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated

    def item_author_name(self, item):
        return item.author.name_with_credentials

    def item_categories(self, item):
        return [item.treatment.name] if item.treatment_id else []
