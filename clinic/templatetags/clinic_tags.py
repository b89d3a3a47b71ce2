import hashlib
import json

from django import template
from django.conf import settings
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from clinic import caching, pagecache
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


class FragmentNode(template.Node):
    def __init__(self, nodelist, name, parts):
        self.nodelist, self.name, self.parts = nodelist, name, parts

    def render(self, context):
        request = context.get("request")
        token = getattr(request, "_content_version", None) or caching.version(pagecache.CONTENT)
        parts = "|".join(str(part.resolve(context)) for part in self.parts)
        digest = hashlib.sha256(parts.encode()).hexdigest()[:24]
        key = f"{FRAGMENT_PREFIX}{self.name}:{get_language()}:{token}:{digest}"
        nonce = getattr(request, "csp_nonce", None)
        html = caching.get(key)
        if html is not None:
            if nonce is not None and caching.NONCE_PLACEHOLDER in html:
                html = html.replace(caching.NONCE_PLACEHOLDER, str(nonce))
            return mark_safe(html)  # noqa: S308  (rendered by this template)
        html = self.nodelist.render(context)
        used = getattr(request, "_csp_nonce", None)  # set once the fragment asked for the nonce
        stored = html.replace(used, caching.NONCE_PLACEHOLDER) if isinstance(used, str) and used else html
        caching.set(key, str(stored), getattr(settings, "PAGE_CACHE_SECONDS", 600))
        return html


@register.tag
def fragment(parser, token):
    """Cache a part of a page until content changes: ``{% fragment "name" var1 var2 %}…{% endfragment %}``.

    The key holds the name, the values of the variables, the language and the content version (which any
    staff edit of what public pages show replaces), so a fragment never outlives the content it shows. A CSP
    nonce inside is stored as a placeholder and filled with the current response's nonce. Only for parts that
    depend on nothing else: not on the visitor, the query string or the time.
    """
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("{% fragment %} needs a name")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    name = bits[1].strip("\"'")
    return FragmentNode(nodelist, name, [parser.compile_filter(bit) for bit in bits[2:]])
