"""The public article an article page shows, kept in the shared cache until content changes.

A page rendered without the page cache (a query string the page does not read, or the first render after an
edit) would otherwise build and run the article query every time, the most expensive part of the page once
its fragments are cached. The article, its author, reviewer and treatment are stored under the site's content
version (``pagecache.CONTENT``), which every staff edit of what public pages show replaces, on every server
instance, so the next render reads the database again.

Only public articles are stored, and an article stays public until it is edited (a scheduled one is public
once its time has come: the stored date says so). Staff previews always read the database.
"""

import hashlib

from django.conf import settings

from clinic import caching, fragments, pagecache

from .models import Article

KEY_PREFIX = "articles:page:"


def public_article(slug, request=None, also=()):
    """The public article with this slug (as ``Article.objects.for_page()`` loads it), or None.

    One round trip to the shared cache, which also reads the keys in ``also`` for the page (see
    ``clinic.fragments.page_keys``); the query only when the article is not stored under the current version.
    The version read here is the one the page's fragments are checked against, so a page never stores fragments
    rendered from an older article under a newer version.
    """
    key = KEY_PREFIX + hashlib.sha256(slug.encode()).hexdigest()[:32]  # any length of slug a visitor types
    found = caching.get_many([caching.version_key(pagecache.CONTENT), key, *also])
    token = caching.version(pagecache.CONTENT, found)
    if request is not None:
        fragments.remember(request, token, also, found)
    article = caching.current(found, key, token)
    if isinstance(article, Article) and article.is_public:
        return article
    article = Article.objects.for_page().published().filter(slug=slug).first()
    if article is not None:
        # Stored before anything reads it, so no per-render value (cached properties) goes with it.
        caching.set_versioned(key, article, token, getattr(settings, "PAGE_CACHE_SECONDS", 600))
    return article
