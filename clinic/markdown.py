"""Markdown written by staff, rendered to HTML that is safe to show to patients."""

import copy
import functools

import markdown as md
import nh3

ALLOWED_TAGS = {
    "p",
    "h2",
    "h3",
    "h4",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "a",
    "blockquote",
    "code",
    "pre",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "th": {"scope"}}


def render_markdown(text, *, with_toc=False):
    """Return sanitised HTML (and the heading list when with_toc)."""
    clean, toc = _render(text or "")
    if with_toc:
        return clean, copy.deepcopy(toc)  # callers may change their copy
    return clean


@functools.lru_cache(maxsize=1024)
def _render(text):
    """Rendering is pure and costs milliseconds per text, so each process remembers recent results (about
    half of an uncached article page's time went to Markdown). Keyed on the text itself, so an edit is
    never served stale."""
    converter = md.Markdown(extensions=["extra", "sane_lists", "toc"], extension_configs={"toc": {"toc_depth": "2-3"}})
    html = converter.convert(text or "")
    # Sanitise after rendering: raw HTML in the Markdown source is either dropped or escaped,
    # and links may only use safe schemes.
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    toc = [
        {"id": t["id"], "name": t["name"], "children": [{"id": c["id"], "name": c["name"]} for c in t["children"]]}
        for t in converter.toc_tokens
    ]
    return clean, toc
