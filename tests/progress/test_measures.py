"""PHQ-9 and GAD-7 as published: every total's band, the change that matters, "not on track", and
the database's checks on every answer and total."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from progress import measures
from progress.checkins import change_category, record_measure
from progress.measures import GAD7, PHQ9, Category
from progress.models import MeasureResponse, SafetyAlert
from tests.factories import MeasureResponseFactory

PHQ9_BANDS = (
    [(t, "Minimal") for t in range(0, 5)]
    + [(t, "Mild") for t in range(5, 10)]
    + [(t, "Moderate") for t in range(10, 15)]
    + [(t, "Moderately severe") for t in range(15, 20)]
    + [(t, "Severe") for t in range(20, 28)]
)
GAD7_BANDS = (
    [(t, "Minimal") for t in range(0, 5)]
    + [(t, "Mild") for t in range(5, 10)]
    + [(t, "Moderate") for t in range(10, 15)]
    + [(t, "Severe") for t in range(15, 22)]
)


def answers_totalling(total: int, count: int) -> list[int]:
    answers = []
    for _ in range(count):
        answers.append(min(3, total))
        total -= answers[-1]
    return answers


@pytest.mark.parametrize(("total", "expected"), PHQ9_BANDS)
def test_every_phq9_total_scores_and_falls_in_its_published_band(total, expected):
    answers = answers_totalling(total, 9)

    assert measures.score(PHQ9, answers) == total
    assert measures.band(PHQ9, total) == expected


@pytest.mark.parametrize(("total", "expected"), GAD7_BANDS)
def test_every_gad7_total_scores_and_falls_in_its_published_band(total, expected):
    answers = answers_totalling(total, 7)

    assert measures.score(GAD7, answers) == total
    assert measures.band(GAD7, total) == expected


@pytest.mark.parametrize(("code", "total"), [(PHQ9, -1), (PHQ9, 28), (GAD7, -1), (GAD7, 22)])
def test_a_total_outside_the_scale_has_no_band(code, total):
    with pytest.raises(ValueError):
        measures.band(code, total)


@pytest.mark.parametrize(
    ("code", "answers"),
    [(PHQ9, [0] * 8), (PHQ9, [0] * 8 + [4]), (GAD7, [0] * 9), (GAD7, [0] * 6 + [None]), (PHQ9, [-1] + [0] * 8)],
)
def test_an_incomplete_or_out_of_range_response_is_not_scored(code, answers):
    with pytest.raises(ValueError):
        measures.score(code, answers)


def test_the_forms_have_the_published_number_of_items_and_answers():
    assert len(measures.INSTRUMENTS[PHQ9].items) == 9
    assert len(measures.INSTRUMENTS[GAD7].items) == 7
    assert [words for _, words in measures.ANSWERS] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]
    assert measures.INSTRUMENTS[PHQ9].items[8].startswith("Thoughts that you would be better off dead")


@pytest.mark.parametrize(
    ("code", "baseline", "total", "category"),
    [
        (PHQ9, 18, 13, Category.RELIABLE_IMPROVEMENT),  # 5 better, not half
        (PHQ9, 18, 14, Category.NO_RELIABLE_CHANGE),  # 4 better: within the error
        (PHQ9, 18, 9, Category.RESPONSE),  # half the baseline
        (PHQ9, 18, 4, Category.REMISSION),
        (PHQ9, 10, 15, Category.RELIABLE_DETERIORATION),
        (PHQ9, 10, 14, Category.NO_RELIABLE_CHANGE),
        (PHQ9, 3, 1, Category.RESPONSE),  # minimal throughout: nothing to remit from
        (GAD7, 15, 11, Category.RELIABLE_IMPROVEMENT),  # GAD-7 counts 4 as reliable
        (GAD7, 15, 12, Category.NO_RELIABLE_CHANGE),
        (GAD7, 8, 12, Category.RELIABLE_DETERIORATION),
        (GAD7, 12, 4, Category.REMISSION),  # remission under 5 applies to the GAD-7 too
        (GAD7, 12, 6, Category.RESPONSE),
    ],
)
def test_change_against_the_baseline_is_put_in_its_category(code, baseline, total, category):
    assert measures.change(code, baseline, total).category == category


def test_the_baseline_itself_is_the_baseline():
    assert measures.change(PHQ9, 12, 12, is_baseline=True).category == Category.BASELINE


@pytest.mark.parametrize(
    ("code", "baseline", "latest", "weeks", "flagged"),
    [
        (PHQ9, 16, 15, 3, False),  # too early to say
        (PHQ9, 16, 15, 4, True),  # four weeks, no reliable improvement
        (PHQ9, 16, 11, 6, False),  # reliable improvement
        (PHQ9, 8, 13, 1, True),  # reliable deterioration, at any time
        (PHQ9, 7, 3, 6, False),  # remission, though less than 5 better
        (PHQ9, 3, 4, 8, False),  # minimal throughout
        (GAD7, 12, 9, 5, True),
        (GAD7, 12, 8, 5, False),
        (GAD7, 6, 10, 1, True),
    ],
)
def test_not_on_track(now, code, baseline, latest, weeks, flagged):
    baseline_at = now - datetime.timedelta(weeks=weeks)

    result = measures.not_on_track(code, baseline_total=baseline, baseline_at=baseline_at, latest_total=latest, now=now)

    assert result is flagged


@pytest.mark.django_db
def test_change_category_of_a_client_compares_the_latest_with_the_first(client_record, now):
    assert change_category(client_record, PHQ9) is None
    MeasureResponseFactory(client=client_record, taken_on=now - datetime.timedelta(weeks=6), total=18)
    MeasureResponseFactory(client=client_record, taken_on=now - datetime.timedelta(weeks=4), total=16)
    MeasureResponseFactory(client=client_record, taken_on=now - datetime.timedelta(weeks=2), total=12)

    change, flagged = change_category(client_record, PHQ9)

    assert change.category == Category.RELIABLE_IMPROVEMENT
    assert change.improvement == 6
    assert flagged is False


# --- The database's checks ------------------------------------------------------------------------


def _phq9_row(client, **fields):
    values = {
        "client": client,
        "instrument": "phq9",
        "occasion": "admission",
        "source": "portal",
        "taken_on": datetime.datetime(2026, 1, 5, 12, tzinfo=datetime.UTC),
        "total": 9,
        **{f"item_{n}": 1 for n in range(1, 10)},
    }
    return MeasureResponse(**{**values, **fields})


def _gad7_row(client, **fields):
    values = {
        "client": client,
        "instrument": "gad7",
        "occasion": "admission",
        "source": "portal",
        "taken_on": datetime.datetime(2026, 1, 5, 12, tzinfo=datetime.UTC),
        "total": 7,
        **{f"item_{n}": 1 for n in range(1, 8)},
    }
    return MeasureResponse(**{**values, **fields})


BAD_ROWS = [
    ("phq9 item above 3", lambda c: _phq9_row(c, item_3=4, total=12)),
    ("phq9 item 9 missing", lambda c: _phq9_row(c, item_9=None, total=8)),
    ("phq9 total not the sum", lambda c: _phq9_row(c, total=10)),
    ("gad7 with item 8", lambda c: _gad7_row(c, item_8=1, total=8)),
    ("gad7 item 7 missing", lambda c: _gad7_row(c, item_7=None, total=6)),
    ("gad7 total not the sum", lambda c: _gad7_row(c, total=6)),
    ("difficulty above 3", lambda c: _gad7_row(c, difficulty=4)),
    ("unknown instrument", lambda c: _gad7_row(c, instrument="bdi2")),
    ("unknown occasion", lambda c: _gad7_row(c, occasion="intake")),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "build"), BAD_ROWS, ids=[case for case, _ in BAD_ROWS])
def test_the_database_refuses_a_response_that_breaks_the_published_form(client_record, case, build):
    with pytest.raises(IntegrityError), transaction.atomic():
        build(client_record).save()


@pytest.mark.django_db
def test_the_database_keeps_well_formed_responses(client_record):
    _phq9_row(client_record).save()
    _gad7_row(client_record, difficulty=2).save()

    assert MeasureResponse.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [{"mood": 11}, {"coping": 11}, {"cravings": 11}, {"mood": -1}],
    ids=["mood", "coping", "cravings", "negative"],
)
def test_the_database_refuses_a_check_in_outside_0_to_10(client_record, today, fields):
    from progress.models import CheckIn

    values = {"mood": 5, "coping": 5, "cravings": 5, **fields}
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckIn.objects.create(client=client_record, week=today, **values)


@pytest.mark.django_db
def test_the_database_keeps_one_check_in_a_week(client_record, today):
    from progress.models import CheckIn

    CheckIn.objects.create(client=client_record, week=today, mood=5, coping=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckIn.objects.create(client=client_record, week=today, mood=6, coping=6)


@pytest.mark.django_db
def test_the_database_refuses_a_half_recorded_follow_up(client_record, therapist, now):
    response = record_measure(client=client_record, instrument=PHQ9, answers={f"item_{n}": 1 for n in range(1, 10)})
    alert = SafetyAlert.objects.get(response=response)
    with pytest.raises(IntegrityError), transaction.atomic():
        SafetyAlert.objects.filter(pk=alert.pk).update(followed_up_by=therapist.user, followed_up_at=now)
