"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's live server.

Chromium comes from the system (`apt-get install chromium`, at /usr/bin/chromium); Playwright never downloads
a browser. Without it these tests are skipped with a message, except under CI (CI=true), where they fail.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def in_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition, message):
    """Skip locally, fail under CI: a missing tool must never turn CI green by skipping."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{message} (CI=true, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def browser():
    require(
        CHROMIUM.exists(),
        f"browser tests need Chromium at {CHROMIUM}: run `apt-get install -y chromium` "
        "(Playwright must never download a browser)",
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements-dev.txt installs it
        require(False, "browser tests need Playwright for Python: pip install -r requirements-dev.txt")
    # Playwright's sync API runs an event loop in this thread; Django would then refuse ORM calls from the
    # test itself. The live server runs in its own thread, and the test only reads and seeds the database.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def content(live_server, settings):
    """The clinic's full content (treatments, articles, team, services, hours) in the live server's database."""
    settings.SITE_URL = live_server.url
    # Browser tests keep the real clock, and the first free time is 12 h ahead at the soonest: with the default
    # 24 h late-change window, a booking made at some hours could no longer be moved or cancelled online. The
    # flows are about moving and cancelling, so the window is short (tests/booking/test_manage.py covers it).
    settings.BOOKING_CANCEL_NOTICE_HOURS = 1
    call_command("load_content", verbosity=0)
    return live_server


class PageProblems:
    """JavaScript errors and console errors (CSP violations, failed requests) seen while a page was open."""

    def __init__(self, page):
        self.errors = []
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("console", self._console)

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def assert_none(self):
        assert not self.errors, "the browser reported errors:\n" + "\n".join(self.errors)


def new_page(browser, request, *, desktop=False, **options):
    viewport = DESKTOP if desktop else PHONE
    defaults = {"viewport": viewport, "locale": "en-CA"}
    if not desktop:
        defaults.update(device_scale_factor=2, is_mobile=True, has_touch=True)
    context = browser.new_context(**{**defaults, **options})
    context.set_default_timeout(10_000)
    request.addfinalizer(context.close)
    page = context.new_page()
    page.problems = PageProblems(page)
    return page


@pytest.fixture
def phone_page(browser, content, request):
    return new_page(browser, request)


@pytest.fixture
def desktop_page(browser, content, request):
    return new_page(browser, request, desktop=True)


@pytest.fixture
def make_page(browser, content, request):
    """A page in a new context with options of the test's choosing (JavaScript off, CSP bypassed...)."""

    def factory(**options):
        return new_page(browser, request, **options)

    return factory


@pytest.fixture
def screenshot(request):
    """Save the page at phone and desktop widths into build/screenshots/ (git-ignored)."""

    def shoot(page, label="end"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{request.node.name}-{label}").strip("-")
        original = page.viewport_size
        for width_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width_name}.png"), full_page=True)
        page.set_viewport_size(original)

    return shoot


@pytest.fixture
def axe_source():
    require(
        AXE_JS.exists(),
        f"accessibility tests need axe-core at {AXE_JS.relative_to(ROOT)}: run `npm ci` in the project folder",
    )
    return AXE_JS


@pytest.fixture
def java():
    path = shutil.which("java")
    require(path is not None, "HTML validation needs Java for the Nu HTML checker: apt-get install default-jre")
    return path
