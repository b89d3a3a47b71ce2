"""clinic/phones.py: one reading of phone numbers for the clinic's links, the booking form and staff search."""

import pytest

from clinic import phones


@pytest.mark.parametrize("typed", ["416 555 0134", "(416) 555-0134", "+1 416-555-0134", "4165550134"])
def test_every_way_of_typing_a_number_gives_one_form(typed):
    assert phones.e164(typed) == "+14165550134"
    assert phones.e164(typed, strict=False) == "+14165550134"
    assert phones.dialable(typed) == "+14165550134"


def test_patients_must_give_a_real_number_staff_search_accepts_a_possible_one():
    assert phones.e164("555 555 5555") is None  # no such area code
    assert phones.e164("555 555 5555", strict=False) == "+15555555555"


def test_unreadable_text_is_no_number_and_no_link():
    assert phones.e164("call me") is None
    assert phones.dialable("call me") == ""
