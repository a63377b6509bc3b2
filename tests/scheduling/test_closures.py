"""A closure is recorded once, however many times Save is pressed."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from scheduling.models import Closure
from scheduling.services import save_closure
from tests.groups.test_concurrency import run_at_once

pytestmark = pytest.mark.django_db


def test_a_double_clicked_closure_is_recorded_once(staff_client, today):
    day = today + datetime.timedelta(days=10)
    data = {"name": "Staff training", "starts_on": day.isoformat(), "ends_on": day.isoformat()}
    url = reverse("admin:scheduling_closure_add")

    first = staff_client.post(url, data)
    second = staff_client.post(url, data)

    assert first.status_code == 302
    assert second.status_code == 200
    assert "already closed" in " ".join(second.context["adminform"].form.errors["starts_on"])
    assert Closure.objects.count() == 1


def test_the_service_refuses_a_second_closure_of_the_same_days(today):
    day = today + datetime.timedelta(days=10)
    save_closure(closure=Closure(name="Staff training", starts_on=day, ends_on=day))

    with pytest.raises(ValidationError) as refusal:
        save_closure(closure=Closure(name="Training day", starts_on=day, ends_on=day))

    assert "already closed" in " ".join(refusal.value.messages)
    assert Closure.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_closures_saved_at_once_make_one(today):
    day = today + datetime.timedelta(days=10)

    errors = run_at_once([lambda: save_closure(closure=Closure(name="Staff training", starts_on=day, ends_on=day))] * 2)

    assert Closure.objects.count() == 1
    assert len(errors) == 1
    assert isinstance(errors[0], ValidationError)
