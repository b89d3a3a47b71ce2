import hashlib
import json

from django import template
from django.conf import settings
from django.template.loader_tags import ExtendsNode
from django.utils.functional import LazyObject, empty
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from clinic import caching, facts, pagecache
from clinic.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text):
    return mark_safe(render_markdown(text))  # noqa: S308  (sanitised by nh3)


@register.filter
def json_ld(data):
    """Serialise a dict for a <script type="application/ld+json"> block, safe inside HTML."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return mark_safe(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))  # noqa: S308


# --- Fragments that change only with content ----------------------------------------------------------------------

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
    extra = ([] if token else [caching.version_key(pagecache.CONTENT)]) + (facts.cache_keys() if with_facts else [])
    found = caching.get_many([*keys, *extra])
    if with_facts:
        clinic._wrapped = facts.facts_from(found)
    token = token or caching.version(pagecache.CONTENT, found)
    if request is not None:
        request._content_version = token
    return token, frozenset(keys), found


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


@register.tag
def prefetch_fragments(parser, token):
    """``{% prefetch_fragments %}`` at the top of a base template: read the page's fragments and the clinic's
    facts before anything shows either (else the facts would be read on their own, first)."""
    return PrefetchFragmentsNode()


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
        entry = found.get(key) if key in asked else caching.get(key)
        # The stored token says which content version the fragment was rendered from.
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == token and isinstance(entry[1], str):
            html = entry[1]
            nonce = getattr(request, "csp_nonce", None)
            if nonce is not None and caching.NONCE_PLACEHOLDER in html:
                html = html.replace(caching.NONCE_PLACEHOLDER, str(nonce))
            return mark_safe(html)  # noqa: S308  (rendered by this template)
        html = self.nodelist.render(context)
        used = getattr(request, "_csp_nonce", None)  # set once the fragment asked for the nonce
        stored = html.replace(used, caching.NONCE_PLACEHOLDER) if isinstance(used, str) and used else html
        caching.set_versioned(key, str(stored), token, getattr(settings, "PAGE_CACHE_SECONDS", 600))
        return html


@register.tag
def fragment(parser, token):
    """Cache a part of a page until content changes: ``{% fragment "name" var1 var2 %}…{% endfragment %}``.

    The key holds the name, the values of the variables and the language; the entry holds the content version
    it was rendered under (any staff edit of what public pages show replaces the version), so a fragment never
    outlives the content it shows. The first fragment of a page reads the version and all the page's fragments
    in one round trip. A CSP nonce inside is stored as a placeholder and filled with the current response's
    nonce. Only for parts that depend on nothing else: not on the visitor, the query string or the time.
    """
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("{% fragment %} needs a name")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    name = bits[1].strip("\"'")
    return FragmentNode(nodelist, name, [parser.compile_filter(bit) for bit in bits[2:]])
