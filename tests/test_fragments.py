"""The {% fragment %} tag: one read of the shared cache for a page's fragments, correct output however a
fragment's key is made."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from clinic import caching, pagecache

pytestmark = pytest.mark.django_db


def _render(source, **values):
    request = RequestFactory().get("/")
    return Template("{% load clinic_tags %}" + source).render(Context({"request": request, **values}))


def test_a_fragment_inside_a_loop_shows_each_item_and_is_reused():
    source = "{% for n in items %}{% fragment 'item' n %}<{{ n }}>{% endfragment %}{% endfor %}"
    assert _render(source, items=[1, 2, 3]) == "<1><2><3>"
    assert _render(source, items=[1, 2, 3]) == "<1><2><3>"  # from the cache
    assert _render(source, items=[3, 4]) == "<3><4>"


def test_a_fragment_is_rendered_again_once_content_changes():
    source = "{% fragment 'name' %}{{ name }}{% endfragment %}"
    assert _render(source, name="Pat") == "Pat"
    assert _render(source, name="Sam") == "Pat"  # cached: it changes only with content
    pagecache.invalidate()  # what any staff edit does
    assert _render(source, name="Sam") == "Sam"


def test_a_page_reads_its_fragments_once(monkeypatch):
    caching.version(pagecache.CONTENT)  # the version exists, as on a live site
    reads = []
    get_many = caching.get_many
    monkeypatch.setattr(caching, "get_many", lambda keys: reads.append(list(keys)) or get_many(keys))
    monkeypatch.setattr(caching, "get", lambda *a, **k: pytest.fail("a fragment read on its own"))
    source = "{% prefetch_fragments %}{% fragment 'a' %}A{% endfragment %}{% fragment 'b' x %}B{{ x }}{% endfragment %}"
    assert _render(source, x=1) == "AB1"
    assert len(reads) == 1 and len(reads[0]) == 3  # both fragments and the content version
