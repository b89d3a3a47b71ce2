import json

from django import template
from django.utils.safestring import mark_safe

from clinic import fragments
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


# --- Fragments that change only with content (clinic.fragments) -----------------------------------------------------


@register.tag
def prefetch_fragments(parser, token):
    """``{% prefetch_fragments %}`` at the top of a base template: read the page's fragments and the clinic's
    facts before anything shows either (else the facts would be read on their own, first)."""
    return fragments.PrefetchFragmentsNode()


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
    return fragments.FragmentNode(nodelist, name, [parser.compile_filter(bit) for bit in bits[2:]])
