"""Phone numbers: one place that parses and formats them, for the clinic's facts, the booking form and the
staff's search alike. Numbers typed without a country code are read in ``settings.PHONE_REGION``."""

import phonenumbers
from django.conf import settings


def parse(text):
    """The parsed number, or None when ``text`` cannot be read as a phone number at all."""
    try:
        return phonenumbers.parse(text, settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None


def e164(text, *, strict=True):
    """``+14165550134`` for a number however it was typed, or None.

    ``strict`` (what patients type in the booking form) requires a number that exists in the numbering plan;
    ``strict=False`` (what staff type in search) only one of a possible length for its region.
    """
    number = parse(text)
    if number is None:
        return None
    ok = phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if ok else None


def dialable(text):
    """International form for tel:/sms: links, so they work from any phone; the digits as typed when unreadable."""
    number = parse(text)
    if number is None:
        return "".join(ch for ch in text if ch.isdigit() or ch == "+")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def found_in(text):
    """Every phone number written in a piece of prose, in E.164."""
    return [
        phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        for match in phonenumbers.PhoneNumberMatcher(text or "", settings.PHONE_REGION)
    ]


def readable(e164):
    """A phone number as people write it: "(416) 555-0123" at home, "011 44 20 7946 0958" from abroad.

    Never with a leading "+", which a spreadsheet would read as a formula (and the neutralising quote
    would then show inside the number).
    """
    number = parse(e164)
    if number is None:
        return e164
    if phonenumbers.region_code_for_number(number) == settings.PHONE_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_out_of_country_calling_number(number, settings.PHONE_REGION)
