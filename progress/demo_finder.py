"""The group finder's part of the demo clinic: groups with a focus, clients' focus preferences
and interpreters, a Spanish-speaking client who fits "Grupo de Apoyo", the kinds of group the
demo client's plan calls for, and the confirmations of the demo's own enrolments (clients in a
group held in another language, the couple in one process group). Idempotent like the rest."""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.trail import Action, record
from clients.models import Client, ConfidentialityAgreement, GroupFocus
from clients.services import sign_agreement
from groups.models import Therapist, TherapyGroup
from iop.clock import monday_of
from progress import plans
from progress.models import TreatmentPlan
from scheduling.enrolment import partner_in_group
from scheduling.models import WeeklySlot
from scheduling.services import save_slot

DEMO_THERAPIST = "therapist"
DEMO_CLIENT_CHART = "IOP-1001"

# name, kind, focus, facilitator, room, weekday, start, minutes, objective
FOCUS_GROUPS = [
    (
        "Women's Circle",
        TherapyGroup.Kind.SUPPORT,
        GroupFocus.WOMEN,
        "praman",
        "Room 106",
        3,
        "18:00",
        75,
        "Share what helped this week and plan the next",
    ),
    (
        "Veterans Process Group",
        TherapyGroup.Kind.PROCESS,
        GroupFocus.VETERANS,
        "mbell",
        "Room 103",
        0,
        "18:00",
        90,
        "Open sharing among veterans",
    ),
    (
        "Couples Communication Skills",
        TherapyGroup.Kind.SKILLS_DEVELOPMENT,
        GroupFocus.COUPLES,
        "praman",
        "Room 102",
        2,
        "18:00",
        90,
        "Practise listening and asking for what you need",
    ),
]
EXISTING_FOCUS = {"Mindfulness & Grounding Skills": GroupFocus.TRAUMA_INFORMED}

# chart -> (interpreter, would welcome, would rather not)
PREFERENCES = {
    "IOP-1001": ("", [GroupFocus.TRAUMA_INFORMED], [GroupFocus.FAITH_BASED]),
    "IOP-1004": (Client.Interpreter.NEEDED, [], []),
    "IOP-1021": (Client.Interpreter.ARRANGED, [GroupFocus.MEN], []),
    "IOP-1008": ("", [GroupFocus.WOMEN], []),
}
# A Spanish-speaking client not in a group yet: "Grupo de Apoyo" fits her.
NEW_SPANISH_CLIENT = ("IOP-1043", "Ana", "Morales", 1986, [GroupFocus.WOMEN, GroupFocus.PARENTS])
DEMO_KINDS = [TherapyGroup.Kind.PROCESS, TherapyGroup.Kind.SKILLS_DEVELOPMENT]

LANGUAGE_REASON = "Speaks English well enough for groups and chose this one (demo)."
PARTNER_REASON = "The program director and the couple's therapist agreed they attend together (demo)."


def demo_confirmations(*, client: Client, group: TherapyGroup) -> dict[str, str]:
    """The confirmations seed_demo's own enrolments give (enroll_client asks for them)."""
    confirmations = {}
    if group.language != client.preferred_language:
        confirmations["language_reason"] = LANGUAGE_REASON
    if group.kind == TherapyGroup.Kind.PROCESS and partner_in_group(client=client, group=group):
        confirmations["partner_reason"] = PARTNER_REASON
    return confirmations


@transaction.atomic
def seed_group_finder(*, stdout, staff) -> None:
    today = timezone.localdate()
    made = []
    therapists = {t.user.username: t for t in Therapist.objects.all()}
    for name, kind, focus, lead, room, weekday, start, minutes, objective in FOCUS_GROUPS:
        if lead not in therapists:
            continue
        group, created = TherapyGroup.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "focus": focus,
                "capacity": 10,
                "facilitator": therapists[lead],
                "room": room,
                "start_date": monday_of(today),
            },
        )
        if created:
            save_slot(
                slot=WeeklySlot(
                    group=group,
                    weekday=weekday,
                    start_time=datetime.time.fromisoformat(start),
                    duration_minutes=minutes,
                    default_objective=objective,
                    effective_from=group.start_date,
                ),
                today=today,
            )
            made.append(name)
    for name, focus in EXISTING_FOCUS.items():
        TherapyGroup.objects.filter(name=name, focus="").update(focus=focus)

    chart, first, last, year, welcomes = NEW_SPANISH_CLIENT
    ana, created = Client.objects.get_or_create(
        chart_number=chart,
        defaults={
            "legal_first_name": first,
            "legal_last_name": last,
            "date_of_birth": datetime.date(year, 3, 9),
            "email": f"{first.lower()}.{last.lower()}@example.org",
            "status": Client.Status.ACTIVE,
            "admission_date": today - datetime.timedelta(days=3),
            "preferred_language": "es",
            "communication_preferences": "Prefers written instructions in Spanish.",
            "cultural_considerations": "Mother of two; evenings work best.",
            "welcomes_focuses": welcomes,
            "reminder_consent": True,
        },
    )
    agreement = ConfidentialityAgreement.objects.order_by("-version").first()
    if created:
        record(Action.CREATE, target=ana, clients=[ana], detail="demo record created by seed_demo")
        if agreement is not None:
            sign_agreement(client=ana, agreement=agreement, witnessed_by=staff, signed_at=timezone.now())
        made.append(ana.display_name)

    for client in Client.objects.filter(chart_number__in=PREFERENCES, interpreter=""):
        interpreter, welcome, avoid = PREFERENCES[client.chart_number]
        if client.welcomes_focuses or client.avoids_focuses:
            continue
        client.interpreter, client.welcomes_focuses, client.avoids_focuses = interpreter, welcome, avoid
        client.save(update_fields=["interpreter", "welcomes_focuses", "avoids_focuses", "updated_at"])
        record(Action.CHANGE, target=client, clients=[client], detail="changed: interpreter, focus preferences")

    plan = TreatmentPlan.objects.filter(client__chart_number=DEMO_CLIENT_CHART).first()
    user = get_user_model().objects.filter(username=DEMO_THERAPIST).first()
    if plan is not None and user is not None and not plan.recommended_group_kinds:
        plans.set_recommended_group_kinds(plan=plan, by=user, kinds=DEMO_KINDS)
    stdout.write(f"Group finder demo: made {', '.join(made) if made else 'nothing new (already there)'}.")
