"""What keeps public pages fast without changing what visitors get: Markdown rendered once when saved, parts of
pages kept until content changes, a cheap access log that still hides private links, and the shipped gunicorn
configuration."""

import io
import logging
from datetime import timedelta

import pytest

pytestmark = pytest.mark.django_db


def _html(response):
    return response.content.decode()


# --- Access log ---------------------------------------------------------------------------------------------------


def test_access_log_is_one_short_line_per_request_without_secrets():
    from gunicorn.config import Config

    from clinic.log_redaction import RedactingLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    logger = RedactingLogger(cfg)
    stream = io.StringIO()
    logger.access_log.handlers = [logging.StreamHandler(stream)]

    class Response:
        status, sent = "200 OK", 512

    class Request:
        path = "/book/manage/abc.def-secret/"

    environ = {"REMOTE_ADDR": "203.0.113.5", "REQUEST_METHOD": "GET", "PATH_INFO": Request.path,
               "QUERY_STRING": "q=back+pain", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_USER_AGENT": "Phone"}  # fmt: skip
    for _ in range(3):
        logger.access(Response(), Request(), environ, timedelta(milliseconds=12))
    logger.flush_access()
    lines = stream.getvalue().splitlines()
    assert lines == ['203.0.113.5 "GET /book/manage/[token]/ HTTP/1.1" 200 512 12ms "Phone"'] * 3


# --- Markdown rendered once, when saved -----------------------------------------------------------------------------


def test_an_article_is_rendered_when_saved_and_pages_read_the_stored_html(client, site, monkeypatch):
    article = site["article"]
    article.body = "Intro.\n\n## Stretching at night\n\nGentle calf stretches may help."
    article.save()
    article.refresh_from_db()
    assert '<h2 id="stretching-at-night">Stretching at night</h2>' in article.body_rendered
    assert article.body_toc == [{"id": "stretching-at-night", "name": "Stretching at night", "children": []}]

    def no_rendering(*args, **kwargs):
        raise AssertionError("a page rendered Markdown")

    monkeypatch.setattr("articles.body.render_markdown", no_rendering)
    html = _html(client.get("/articles/night-cramps/"))
    assert "Gentle calf stretches may help." in html and 'href="#stretching-at-night"' in html
    assert "Acupuncture" in _html(client.get("/treatments/acupuncture/"))


def test_rows_written_without_save_are_still_rendered_when_shown(client, site):
    from articles.models import Article

    Article.objects.filter(pk=site["article"].pk).update(body="Fresh **words**.", body_rendered="", body_toc=[])
    assert "Fresh <strong>words</strong>." in _html(client.get("/articles/night-cramps/"))


# --- Parts of pages cached until content changes -------------------------------------------------------------------


def test_a_staff_edit_shows_at_once_in_cached_parts(client, site, django_assert_max_num_queries):
    from tests.factories import ArticleFAQFactory

    client.get("/articles/night-cramps/")
    ArticleFAQFactory(article=site["article"], question="Can stretching at bedtime help?")
    html = _html(client.get("/articles/night-cramps/"))
    assert "Can stretching at bedtime help?" in html and html.count("Can stretching at bedtime help?") == 2  # + JSON-LD


# --- The shipped gunicorn configuration -----------------------------------------------------------------------------


def _gunicorn_conf(monkeypatch, **env):
    import runpy
    from pathlib import Path

    for name in ("GUNICORN_WORKERS", "GUNICORN_MAX_REQUESTS", "GUNICORN_MAX_WORKER_MEMORY_MB"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))


def test_workers_are_never_recycled_on_a_request_count(monkeypatch):
    import multiprocessing

    conf = _gunicorn_conf(monkeypatch)
    assert conf["max_requests"] == 0 and conf["worker_class"] == "sync"
    assert conf["workers"] == max(2, multiprocessing.cpu_count())
    assert conf["accesslog"] == "-" and conf["logger_class"] == "clinic.log_redaction.RedactingLogger"


def test_a_worker_that_grew_too_big_is_restarted_gracefully(monkeypatch):
    conf = _gunicorn_conf(monkeypatch, GUNICORN_MAX_WORKER_MEMORY_MB="1")  # any Python process is bigger

    class Worker:
        pid, alive, handled = 1, True, 0
        log = logging.getLogger("test")

    worker = Worker()
    for _ in range(999):
        conf["post_request"](worker, None, {}, None)
    assert worker.alive  # checked only every 1,000 requests
    conf["post_request"](worker, None, {}, None)
    assert not worker.alive
    small = _gunicorn_conf(monkeypatch)  # the default limit, 512 MB
    worker = Worker()
    for _ in range(2000):
        small["post_request"](worker, None, {}, None)
    assert worker.alive
