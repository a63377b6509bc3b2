"""The standardized measures the program uses, PHQ-9 and GAD-7, as published (Spitzer, Williams,
Kroenke and colleagues; free to use, Pfizer's forms at phqscreeners.com): item texts, answer
words, scoring, severity bands and the change that matters between two responses.

Pure functions and constants, no ORM: the models, services, forms and templates all read them."""

import datetime
from dataclasses import dataclass
from enum import StrEnum

# Clients answer them in their own language (the published translations' words); lazily, so that
# each page reads them in the language it is drawn in.
from django.utils.translation import gettext_lazy as _

PHQ9 = "phq9"
GAD7 = "gad7"

# The four answers of every scored item.
ANSWERS = [
    (0, _("Not at all")),
    (1, _("Several days")),
    (2, _("More than half the days")),
    (3, _("Nearly every day")),
]
ITEM_MAX = 3

# The last question of both forms: published, answered, and not part of the score.
DIFFICULTY_QUESTION = _(
    "If you checked off any problems, how difficult have these problems made it for you to do your work, "
    "take care of things at home, or get along with other people?"
)
DIFFICULTY_ANSWERS = [
    (0, _("Not difficult at all")),
    (1, _("Somewhat difficult")),
    (2, _("Very difficult")),
    (3, _("Extremely difficult")),
]


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    title: str
    stem: str
    items: tuple[str, ...]
    # (lowest total of the band, band name), lowest first.
    bands: tuple[tuple[int, str], ...]
    # The change in total that is larger than the measurement error (reliable change).
    reliable_change: int
    # A total under this after a higher baseline is remission.
    remission_below: int = 5

    @property
    def max_total(self) -> int:
        return ITEM_MAX * len(self.items)

    @property
    def item_count(self) -> int:
        return len(self.items)


INSTRUMENTS = {
    PHQ9: Instrument(
        code=PHQ9,
        name="PHQ-9",
        title=_("Patient Health Questionnaire (PHQ-9)"),
        stem=_("Over the last 2 weeks, how often have you been bothered by any of the following problems?"),
        items=(
            _("Little interest or pleasure in doing things"),
            _("Feeling down, depressed, or hopeless"),
            _("Trouble falling or staying asleep, or sleeping too much"),
            _("Feeling tired or having little energy"),
            _("Poor appetite or overeating"),
            _("Feeling bad about yourself — or that you are a failure or have let yourself or your family down"),
            _("Trouble concentrating on things, such as reading the newspaper or watching television"),
            _(
                "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
                "fidgety or restless that you have been moving around a lot more than usual"
            ),
            _("Thoughts that you would be better off dead or of hurting yourself in some way"),
        ),
        bands=((0, _("Minimal")), (5, _("Mild")), (10, _("Moderate")), (15, _("Moderately severe")), (20, _("Severe"))),
        reliable_change=5,
    ),
    GAD7: Instrument(
        code=GAD7,
        name="GAD-7",
        title=_("Generalized Anxiety Disorder scale (GAD-7)"),
        stem=_("Over the last 2 weeks, how often have you been bothered by the following problems?"),
        items=(
            _("Feeling nervous, anxious, or on edge"),
            _("Not being able to stop or control worrying"),
            _("Worrying too much about different things"),
            _("Trouble relaxing"),
            _("Being so restless that it is hard to sit still"),
            _("Becoming easily annoyed or irritable"),
            _("Feeling afraid, as if something awful might happen"),
        ),
        bands=((0, _("Minimal")), (5, _("Mild")), (10, _("Moderate")), (15, _("Severe"))),
        reliable_change=4,
    ),
}

# PHQ-9 item 9 (thoughts of being better off dead or of self-harm): any answer above
# "Not at all" raises a safety alert, whatever the total.
SAFETY_ITEM = 9
MAX_ITEMS = 9

# A client is "not on track" without reliable improvement this long after their baseline.
ON_TRACK_WITHIN = datetime.timedelta(weeks=4)


def instrument(code: str) -> Instrument:
    try:
        return INSTRUMENTS[code]
    except KeyError:
        raise ValueError(f"Unknown instrument {code!r}.") from None


def score(code: str, answers: list[int]) -> int:
    """The total of a complete response: the sum of its items, each 0-3, every item answered."""
    form = instrument(code)
    if len(answers) != form.item_count:
        raise ValueError(f"{form.name} has {form.item_count} items; {len(answers)} answers were given.")
    for answer in answers:
        if answer is None or not 0 <= answer <= ITEM_MAX:
            raise ValueError(f"Every {form.name} answer is 0 to {ITEM_MAX}.")
    return sum(answers)


def band(code: str, total: int) -> str:
    """The published severity band of a total."""
    form = instrument(code)
    if not 0 <= total <= form.max_total:
        raise ValueError(f"A {form.name} total is 0 to {form.max_total}.")
    name = form.bands[0][1]
    for lowest, label in form.bands:
        if total >= lowest:
            name = label
    return name


def raises_safety_alert(code: str, answers: list[int | None]) -> bool:
    return code == PHQ9 and len(answers) >= SAFETY_ITEM and (answers[SAFETY_ITEM - 1] or 0) > 0


class Category(StrEnum):
    """How a response compares with the client's baseline, the most telling first."""

    BASELINE = "baseline", _("Baseline")
    RELIABLE_DETERIORATION = "reliable_deterioration", _("Reliable deterioration")
    REMISSION = "remission", _("Remission")
    RESPONSE = "response", _("Response")
    RELIABLE_IMPROVEMENT = "reliable_improvement", _("Reliable improvement")
    NO_RELIABLE_CHANGE = "no_reliable_change", _("No reliable change")

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


@dataclass(frozen=True)
class Change:
    """A response against the baseline. ``improvement`` is positive when the total went down."""

    instrument: str
    baseline_total: int
    total: int
    reliable_improvement: bool
    reliable_deterioration: bool
    response: bool
    remission: bool
    category: Category

    @property
    def improvement(self) -> int:
        return self.baseline_total - self.total

    @property
    def label(self) -> str:
        return self.category.label


def change(code: str, baseline_total: int, total: int, *, is_baseline: bool = False) -> Change:
    """Reliable improvement or deterioration (PHQ-9 by 5 or more, GAD-7 by 4 or more), response
    (half the baseline or less) and remission (under 5, from a baseline of 5 or more: a client
    who began in the minimal band has nothing to remit from). The category is the most telling
    of them; deterioration first, as the one that needs action."""
    form = instrument(code)
    improvement = baseline_total - total
    reliable_improvement = improvement >= form.reliable_change
    reliable_deterioration = -improvement >= form.reliable_change
    response = baseline_total > 0 and total * 2 <= baseline_total
    remission = baseline_total >= form.remission_below and total < form.remission_below
    if is_baseline:
        category = Category.BASELINE
    elif reliable_deterioration:
        category = Category.RELIABLE_DETERIORATION
    elif remission:
        category = Category.REMISSION
    elif response:
        category = Category.RESPONSE
    elif reliable_improvement:
        category = Category.RELIABLE_IMPROVEMENT
    else:
        category = Category.NO_RELIABLE_CHANGE
    return Change(
        instrument=code,
        baseline_total=baseline_total,
        total=total,
        reliable_improvement=reliable_improvement and not is_baseline,
        reliable_deterioration=reliable_deterioration and not is_baseline,
        response=response and not is_baseline,
        remission=remission and not is_baseline,
        category=category,
    )


def not_on_track(
    code: str,
    *,
    baseline_total: int,
    baseline_at: datetime.datetime,
    latest_total: int,
    now: datetime.datetime,
) -> bool:
    """The client's course as of their latest response: reliably worse than at baseline, or not
    reliably better (nor in remission) once four weeks have passed since it. A client still in the
    minimal band is on track (there is nothing to improve on)."""
    form = instrument(code)
    result = change(code, baseline_total, latest_total)
    if result.reliable_deterioration:
        return True
    if result.reliable_improvement or result.remission:
        return False
    if baseline_total < form.remission_below and latest_total < form.remission_below:
        return False
    return now - baseline_at >= ON_TRACK_WITHIN
