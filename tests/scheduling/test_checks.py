import pytest

from scheduling.checks import clinic_short_name_is_discreet


@pytest.mark.parametrize("name", ["Riverside Health", "Oak Street Wellness"])
def test_a_neutral_short_name_passes(settings, name):
    settings.CLINIC_SHORT_NAME = name

    assert clinic_short_name_is_discreet(None) == []


@pytest.mark.parametrize("name", ["Riverside Recovery", "Oak Street Rehab", "Hope IOP", "Addiction Therapy Group"])
def test_a_telling_short_name_stops_start_up(settings, name):
    settings.CLINIC_SHORT_NAME = name

    errors = clinic_short_name_is_discreet(None)

    assert [error.id for error in errors] == ["scheduling.E001"]
