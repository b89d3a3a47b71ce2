"""Every page type in Chromium under the site's real Content-Security-Policy (`script-src 'self'`, no nonce):
no CSP violation is reported, the page's own script runs, and the JSON-LD blocks are still there to read."""

import json

import pytest
from test_e2e_accessibility import SIMPLE_PAGES, open_page

# Recorded from the first moment of every document (init scripts are injected by the browser, not the page).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""
JSON_LD = """() => Array.from(document.querySelectorAll('script[type="application/ld+json"]'))
  .map((s) => JSON.parse(s.textContent)["@type"])"""
WITH_JSON_LD = {"home": "MedicalClinic", "contact": "MedicalClinic", "article": None, "treatment": None}


@pytest.mark.parametrize("kind", [*SIMPLE_PAGES, "book-errors", "manage", "cancel", "move"])
def test_no_csp_violation_on_any_page_type_and_json_ld_is_kept(kind, make_page, live_server):
    page = make_page()
    page.add_init_script(RECORD_VIOLATIONS)
    console = []
    page.on("console", lambda message: console.append(message.text))
    open_page(page, live_server.url, kind)
    page.wait_for_load_state("load")
    violations = page.evaluate("() => window.__cspViolations")
    csp_messages = [text for text in console if "Content Security Policy" in text or "Content-Security-Policy" in text]
    assert not violations and not csp_messages, f"{kind}: {violations} {csp_messages}"
    if kind == "404":  # the browser reports the page's own 404 status as a console error
        page.problems.errors = [e for e in page.problems.errors if "status of 404" not in e]
    page.problems.assert_none()
    if kind in WITH_JSON_LD:
        types = page.evaluate(JSON_LD)
        assert types, f"{kind}: no JSON-LD in the page"
        if WITH_JSON_LD[kind]:
            assert WITH_JSON_LD[kind] in json.dumps(types), (kind, types)


def test_an_inline_script_would_be_blocked_while_json_ld_is_not(make_page, live_server):
    """The policy has teeth: the same page with an executable inline script added gets it blocked."""
    page = make_page()
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server.url + "/contact/")
    page.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "window.__ran = true";
                   document.body.appendChild(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__ran === undefined")
    assert any("script-src" in v for v in page.evaluate("() => window.__cspViolations"))
    assert page.evaluate(JSON_LD)
