"""Each factory makes a valid row with no arguments, so a new test can start from any model."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

FACTORIES = [
    factories.UserFactory,
    factories.AgreementFactory,
    factories.ClientFactory,
    factories.SignatureFactory,
    factories.TherapistFactory,
    factories.TherapyGroupFactory,
    factories.MembershipFactory,
    factories.WeeklySlotFactory,
    factories.ClosureFactory,
    factories.SessionFactory,
    factories.ReminderFactory,
    factories.AttendanceFactory,
    factories.GroupNoteFactory,
    factories.IndividualNoteFactory,
    factories.AddendumFactory,
    factories.TreatmentPlanFactory,
    factories.GoalFactory,
    factories.PlanReviewFactory,
]


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_each_factory_makes_a_row_that_passes_validation(factory):
    made = factory()

    made.full_clean()
    assert type(made).objects.filter(pk=made.pk).exists()


def test_a_group_starts_on_a_monday_in_the_past_of_the_test_clock(today):
    group = factories.TherapyGroupFactory()

    assert group.start_date.weekday() == 0
    assert group.start_date < today
