"""Parts of pages cached until content changes (the ``{% fragment %}`` tag), read in one round trip per page.

A fragment's entry is keyed on its name, the values it is keyed on and the language, and holds the content
version (``pagecache.CONTENT``) it was rendered under: any staff edit of what public pages show replaces the
version, on every server instance, and the fragment is rendered again. A page reads all its fragments, the
version and the clinic's facts with one ``get_many`` (``{% prefetch_fragments %}`` in base.html, or the first
fragment); a view that reads the shared cache anyway can join that read (``page_keys`` / ``remember``).
"""

import hashlib

from django import template
from django.conf import settings
from django.template.loader_tags import ExtendsNode
from django.utils.functional import LazyObject, empty
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from . import caching, facts, pagecache

FRAGMENT_PREFIX = "fragment:"


def _page_fragment_nodes(root):
    """Every {% fragment %} of a page: in the template, its blocks and the templates it extends (not includes).

    Computed once per compiled template (the cached loader keeps them for the life of the process)."""
    nodes = getattr(root, "_fragment_nodes", None)
    if nodes is None:
        nodes, seen, template = [], set(), root
        while template is not None and template.origin.name not in seen:
            seen.add(template.origin.name)
            nodes.extend(template.nodelist.get_nodes_by_type(FragmentNode))
            extends = template.nodelist.get_nodes_by_type(ExtendsNode)
            parent = extends[0].parent_name.var if extends else None
            # Only a parent named by a literal string: a variable one may differ between renders.
            template = template.engine.get_template(parent) if isinstance(parent, str) else None
        root._fragment_nodes = nodes = tuple(nodes)
    return nodes


def _prefetch_fragments(context, request):
    """The content version and every fragment of this page, in one round trip to the shared cache (with the
    clinic's facts when the page has not read them yet: see clinic.context_processors).

    Returns (token, keys asked for, {key: (token, html)} found). A fragment whose key turns out different when
    it is rendered (inside a loop or a {% with %}) is simply read on its own.
    """
    root = context.template
    nodes = _page_fragment_nodes(root) if root is not None and root.origin is not None else ()
    keys = [node.cache_key(context) for node in nodes]
    token = getattr(request, "_content_version", None)
    clinic = context.get("clinic")
    with_facts = isinstance(clinic, LazyObject) and clinic._wrapped is empty
    wanted = [*keys, *([] if token else [caching.version_key(pagecache.CONTENT)])]
    wanted += facts.cache_keys() if with_facts else []
    # What the view already read with its own first read (``remember``) is not read again.
    asked, found = getattr(request, "_page_reads", (frozenset(), {}))
    unread = [key for key in wanted if key not in asked]
    if unread:
        found = {**found, **caching.get_many(unread)}
    if with_facts:
        clinic._wrapped = facts.facts_from(found)
    token = token or caching.version(pagecache.CONTENT, found)
    if request is not None:
        request._content_version = token
    return token, asked.union(keys), found


def page_keys(template_name, request, **values):
    """What a view may read for its page before it has loaded anything: the keys of the page's fragments that
    are keyed on the request and ``values`` only, and the clinic's facts. See ``remember``."""
    from django.template.loader import get_template

    root = get_template(template_name).template
    context = template.Context({"request": request, **values})
    return [*(node.cache_key(context) for node in _page_fragment_nodes(root)), *facts.cache_keys()]


def remember(request, token, keys, found):
    """Hand a read that included ``page_keys`` (and the content version, ``token``) to the page's render, so
    its fragments and facts are not read a second time and are checked against that same version."""
    request._content_version = token
    request._page_reads = (frozenset(keys), found)


def _prefetched(context):
    """This render's (token, keys asked for, found), read on first use (kept on the context)."""
    prefetched = getattr(context, "_fragments", None)
    if prefetched is None:
        prefetched = context._fragments = _prefetch_fragments(context, context.get("request"))
    return prefetched


class PrefetchFragmentsNode(template.Node):
    def render(self, context):
        _prefetched(context)
        return ""


class FragmentNode(template.Node):
    def __init__(self, nodelist, name, parts):
        self.nodelist, self.name, self.parts = nodelist, name, parts

    def cache_key(self, context):
        parts = "|".join(str(part.resolve(context)) for part in self.parts)
        digest = hashlib.sha256(parts.encode()).hexdigest()[:24]
        return f"{FRAGMENT_PREFIX}{self.name}:{get_language()}:{digest}"

    def render(self, context):
        request = context.get("request")
        # One read per page: {% prefetch_fragments %} or the first fragment fetches them all.
        token, asked, found = _prefetched(context)
        key = self.cache_key(context)
        # The stored token says which content version the fragment was rendered from.
        html = caching.current(found if key in asked else {key: caching.get(key)}, key, token)
        if isinstance(html, str):
            nonce = getattr(request, "csp_nonce", None)
            if nonce is not None and caching.NONCE_PLACEHOLDER in html:
                html = html.replace(caching.NONCE_PLACEHOLDER, str(nonce))
            return mark_safe(html)  # noqa: S308  (rendered by this template)
        html = self.nodelist.render(context)
        used = getattr(request, "_csp_nonce", None)  # set once the fragment asked for the nonce
        stored = html.replace(used, caching.NONCE_PLACEHOLDER) if isinstance(used, str) and used else html
        caching.set_versioned(key, str(stored), token, getattr(settings, "PAGE_CACHE_SECONDS", 600))
        return html
