"""The one word list (iop/discretion.py): stems found in any case and form, ordinary words left alone."""

import pytest
from django.core.exceptions import ValidationError

from iop.discretion import undiscreet_words, undiscreet_words_in_address, validate_discreet


@pytest.mark.parametrize(
    "text",
    [
        "Riverside Counseling",
        "counselor",
        "Counselling Room",
        "Recovery",
        "sobriety",
        "Sober",
        "detoxification",
        "Substance Use Suite",
        "Behavioral Health",
        "behavioural",
        "Mental Health Annex",
        "Psychiatric Wing",
        "Alcohol Services",
        "Drug Court Room",
        "Opioid Program",
        "Treatment Room",
        "Therapist office",
        "Group Room B",
        "IOP Suite",
        "IOPs",
        "12-step room",
        "Diagnosis",
        "Room_Counseling",
        "Ｒｅｃｏｖｅｒｙ",  # full-width letters
        "Reco\u00advery",  # a soft hyphen inside
    ],
)
def test_a_listed_word_is_found_in_any_case_and_form(text):
    assert undiscreet_words(text)


@pytest.mark.parametrize(
    "text",
    [
        "Riverside Health",
        "Room 101",
        "Independence Suite",
        "Fundamental Care",
        "Retreat Center",
        "Opinion Room",
        "Biopsy Lab",
        "Methodist Plaza",
        "Grouse Lane",
        "Alcott Room",
        "Sudbury Place",
        "Appointment — Oak Street Wellness",
        "Online (the join link is in your portal)",
        "If you cannot make it, please call us at (312) 555-0142.",
    ],
)
def test_ordinary_words_containing_a_stem_are_left_alone(text):
    assert undiscreet_words(text) == []


@pytest.mark.parametrize(
    "address, found",
    [
        ("reminders@riversiderecovery.org", True),
        ("noreply@detox-west.com", True),
        ("x@oakiop.example.org", True),
        ("reminders@riverside-health.org", False),
        ("noreply@sudbury.example", False),
    ],
)
def test_addresses_are_searched_inside_words(address, found):
    assert bool(undiscreet_words_in_address(address)) is found


def test_the_validator_names_the_words_it_found():
    with pytest.raises(ValidationError) as refused:
        validate_discreet("Counseling Room 4")

    assert "Counseling" in refused.value.messages[0]
    validate_discreet("Room 4")
