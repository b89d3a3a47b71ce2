"""Article search: PostgreSQL full-text search ranked by relevance, a plain match elsewhere (SQLite)."""

from django.db import connection
from django.db.models import Q

MAX_QUERY_LENGTH = 200
SEARCH_CONFIG = "english"


def clean_query(raw):
    """The search text as typed, trimmed and capped so a huge query string can't cost much."""
    return " ".join((raw or "")[:MAX_QUERY_LENGTH].split())


def search_vector():
    from django.contrib.postgres.search import SearchVector

    return (
        SearchVector("title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("summary", weight="B", config=SEARCH_CONFIG)
        + SearchVector("body", weight="C", config=SEARCH_CONFIG)
    )


def search_articles(queryset, query):
    """Filter `queryset` to articles matching `query`, best matches first.

    On PostgreSQL: full-text search over title (weight A), summary (B) and body (C), ordered by rank.
    Elsewhere: a case-insensitive match of every word in the title, summary or body, newest first.
    """
    query = clean_query(query)
    if not query:
        return queryset
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank

        search_query = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        return (
            queryset.annotate(search=search_vector(), rank=SearchRank(search_vector(), search_query))
            .filter(search=search_query)
            .order_by("-rank", "-published_at")
        )
    for word in query.split()[:10]:
        queryset = queryset.filter(Q(title__icontains=word) | Q(summary__icontains=word) | Q(body__icontains=word))
    return queryset
