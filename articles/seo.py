"""schema.org pieces shared by the article, treatment and condition pages (plain dicts, serialised by `json_ld`)."""

from django.conf import settings

from clinic import datetimes


def absolute(url):
    return url if url.startswith(("http://", "https://")) else settings.SITE_URL + url


def iso(moment):
    """An aware datetime as ISO 8601 in the clinic's time zone (as the page shows it), or None."""
    return datetimes.local(moment).isoformat() if moment else None


def person(practitioner):
    """A practitioner as a schema.org Person with their credentials."""
    if practitioner is None:
        return None
    data = {
        "@type": "Person",
        "name": practitioner.name,
        "jobTitle": practitioner.title,
        "url": absolute(practitioner.get_absolute_url()),
    }
    if practitioner.credentials:
        data["honorificSuffix"] = practitioner.credentials
        data["hasCredential"] = [
            {"@type": "EducationalOccupationalCredential", "name": c.strip()}
            for c in practitioner.credentials.split(",")
            if c.strip()
        ]
    return data


def faq_page(faqs):
    """FAQPage for a list of objects with `question` and `answer`; None when there are none."""
    faqs = list(faqs)
    if not faqs:
        return None
    return {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "mainEntity": [
            {
                "@type": "Question",
                "name": f.question,
                "acceptedAnswer": {"@type": "Answer", "text": f.answer},
            }
            for f in faqs
        ],
    }


def breadcrumb_list(crumbs):
    """BreadcrumbList for [(name, url), ...]; the last crumb is the current page."""
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": i, "name": str(name), "item": absolute(url)}
            for i, (name, url) in enumerate(crumbs, start=1)
        ],
    }
