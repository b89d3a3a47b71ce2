"""schema.org data for the clinic, shared by the home and contact pages."""

from . import registry


def clinic_json_ld(facts, request):
    profile = facts.profile
    if profile is None:
        return None
    data = {
        "@context": "https://schema.org",
        "@type": "MedicalClinic",
        "name": profile.name,
        "url": request.build_absolute_uri("/"),
        "telephone": profile.phone,
        "email": profile.email,
    }
    loc = facts.main_location
    if loc:
        data["address"] = {
            "@type": "PostalAddress",
            "streetAddress": loc.street,
            "addressLocality": loc.city,
            "addressRegion": loc.region,
            "postalCode": loc.postal_code,
            "addressCountry": loc.country,
        }
        if loc.map_url:
            data["hasMap"] = loc.map_url
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    data["openingHoursSpecification"] = [
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": f"https://schema.org/{days[h.weekday]}",
            "opens": h.opens.strftime("%H:%M"),
            "closes": h.closes.strftime("%H:%M"),
        }
        for h in facts.hours
        if not h.is_closed
    ]
    book = registry.link("book")
    if book is not None:
        data["potentialAction"] = {"@type": "ReserveAction", "target": request.build_absolute_uri(book)}
    return data
