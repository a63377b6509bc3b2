"""A believable demo clinic. Idempotent: running it again finds what it made and adds nothing. It
lives in progress, the highest app it fills (clients, groups, sessions, then the notes)."""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from clients.models import Client, ConfidentialityAgreement
from clients.services import link_partners, sign_agreement
from groups.models import Membership, Therapist, TherapyGroup
from iop.clock import monday_of
from iop.locks import hold_until_commit
from iop.permissions import CLINIC_STAFF
from progress.demo import (
    DEMO_MEASURE_WEEKS,
    DEMO_PASSWORD,
    seed_discharges,
    seed_measures,
    seed_plans,
    seed_preparation,
    seed_progress,
    seed_undocumented_session,
)
from progress.demo_finder import demo_confirmations, seed_group_finder
from progress.demo_languages import seed_spanish_client
from scheduling.enrolment import enroll_client
from scheduling.models import Session, WeeklySlot
from scheduling.services import generate_sessions, save_slot

AGREEMENT_TEXT = """\
What is said in group stays in group. I will not share the names of other members, or anything
that identifies them, with anyone outside the group. I understand that the facilitators must break
confidentiality when someone is at risk of serious harm, when a child or vulnerable adult may be
abused, or when a court orders it. I will not record sessions. In virtual sessions I will join
from a private place and use headphones when others could overhear."""

THERAPISTS = [
    # username, first, last, credentials
    ("therapist", "Dana", "Whitfield", "LCSW"),
    ("mbell", "Marcus", "Bell", "LPC"),
    ("praman", "Priya", "Raman", "LMFT"),
    ("eortiz", "Elena", "Ortiz", "LCSW"),
]

# chart, first, last, preferred, birth year, level of care, language, status, signed
CLIENTS = [
    ("IOP-1001", "Jordan", "Avery", "Jo", 1991, "adult_iop", "en", "active", True),
    ("IOP-1002", "Maria", "Gonzalez", "", 1985, "adult_iop", "es", "active", True),
    ("IOP-1003", "Tyrone", "Jackson", "Ty", 1978, "adult_iop", "en", "active", True),
    ("IOP-1004", "Linh", "Nguyen", "", 1994, "adult_iop", "vi", "active", True),
    ("IOP-1005", "Samuel", "Okafor", "Sam", 1988, "adult_iop", "en", "active", True),
    ("IOP-1006", "Rebecca", "Stein", "Becca", 1972, "adult_iop", "en", "active", True),
    ("IOP-1007", "Carlos", "Ramirez", "", 1983, "adult_iop", "es", "active", True),
    ("IOP-1008", "Aisha", "Rahman", "", 1996, "adult_iop", "en", "active", True),
    ("IOP-1009", "Daniel", "Kowalski", "Dan", 1969, "adult_iop", "en", "active", True),
    ("IOP-1010", "Grace", "Kim", "", 1990, "adult_iop", "ko", "active", True),
    ("IOP-1011", "Marcus", "Freeman", "", 1987, "adult_iop", "en", "active", True),
    ("IOP-1012", "Hannah", "Lindqvist", "", 1993, "adult_iop", "en", "active", True),
    ("IOP-1013", "Luis", "Herrera", "", 1980, "adult_iop", "es", "active", True),
    ("IOP-1014", "Keisha", "Thompson", "", 1975, "adult_iop", "en", "active", True),
    ("IOP-1015", "Omar", "Haddad", "", 1992, "adult_iop", "ar", "active", True),
    ("IOP-1016", "Emily", "Carter", "Em", 1998, "adult_iop", "en", "active", True),
    ("IOP-1017", "Robert", "Nakamura", "Rob", 1966, "adult_iop", "en", "active", True),
    ("IOP-1018", "Sofia", "Castillo", "", 1989, "adult_iop", "es", "active", True),
    ("IOP-1019", "Patrick", "O'Brien", "Pat", 1977, "adult_iop", "en", "active", True),
    ("IOP-1020", "Naomi", "Brooks", "", 1995, "adult_iop", "en", "active", True),
    ("IOP-1021", "Victor", "Petrov", "", 1984, "adult_iop", "ru", "active", True),
    ("IOP-1022", "Jasmine", "Wright", "Jaz", 1997, "adult_iop", "en", "active", True),
    ("IOP-1023", "Ahmed", "Yusuf", "", 1986, "adult_iop", "so", "active", True),
    ("IOP-1024", "Claire", "Dubois", "", 1979, "adult_iop", "en", "active", True),
    ("IOP-1025", "Ethan", "Morales", "", 1999, "adult_iop", "en", "active", True),
    ("IOP-1026", "Fatima", "Ali", "", 1991, "adult_iop", "en", "active", True),
    ("IOP-1027", "George", "Papadopoulos", "", 1970, "adult_iop", "en", "active", True),
    ("IOP-1028", "Isabel", "Reyes", "Isa", 1987, "adult_iop", "es", "active", True),
    ("IOP-1029", "Kevin", "Walsh", "", 1982, "adult_iop", "en", "active", False),
    ("IOP-1030", "Monica", "Patel", "", 1990, "adult_iop", "en", "active", False),
    ("IOP-1031", "Noah", "Schmidt", "", 1994, "adult_iop", "en", "intake", False),
    ("IOP-1032", "Olivia", "Bennett", "Liv", 1988, "adult_iop", "en", "intake", True),
    ("IOP-1033", "Peter", "Lindgren", "", 1965, "adult_iop", "en", "discharged", True),
    ("IOP-1034", "Rosa", "Jimenez", "", 1981, "adult_iop", "es", "active", True),
    ("IOP-1035", "Aiden", "Murphy", "", 2010, "adolescent_iop", "en", "active", True),
    ("IOP-1036", "Bella", "Chen", "", 2009, "adolescent_iop", "en", "active", True),
    ("IOP-1037", "Caleb", "Johnson", "Cal", 2011, "adolescent_iop", "en", "active", True),
    ("IOP-1038", "Destiny", "Williams", "", 2010, "adolescent_iop", "en", "active", True),
    ("IOP-1039", "Elijah", "Garcia", "Eli", 2009, "adolescent_iop", "es", "active", True),
    ("IOP-1040", "Fiona", "McCarthy", "", 2011, "adolescent_iop", "en", "active", False),
    ("IOP-1041", "Gabriel", "Santos", "Gabe", 2010, "adolescent_iop", "pt", "active", True),
    ("IOP-1042", "Harper", "Davis", "", 2009, "adolescent_iop", "en", "active", True),
]
DEMO_CLIENT_CHART = "IOP-1001"
PARTNERS = ("IOP-1005", "IOP-1006")

# name, kind, capacity, facilitator, co-facilitator, modality, room, language, audience, members (chart numbers)
ADULT_CORE = [c[0] for c in CLIENTS[:28]]
GROUPS = [
    (
        "Understanding Anxiety & Depression",
        "psychoeducational",
        12,
        "therapist",
        "mbell",
        "in_person",
        "Room 101",
        "en",
        "adult_iop",
        ADULT_CORE[:15],
    ),
    (
        "Mindfulness & Grounding Skills",
        "skills_development",
        10,
        "therapist",
        None,
        "in_person",
        "Room 102",
        "en",
        "adult_iop",
        [DEMO_CLIENT_CHART] + ADULT_CORE[15:24],
    ),
    (
        "Open Process Group",
        "process",
        10,
        "mbell",
        "therapist",
        "in_person",
        "Room 103",
        "en",
        "adult_iop",
        [DEMO_CLIENT_CHART] + ADULT_CORE[2:9],
    ),
    (
        "Relapse Prevention & Coping Skills",
        "skills_development",
        12,
        "praman",
        None,
        "in_person",
        "Room 101",
        "en",
        "adult_iop",
        [DEMO_CLIENT_CHART] + ADULT_CORE[9:19],
    ),
    (
        "Weekend Planning Check-in",
        "support",
        12,
        "praman",
        "therapist",
        "virtual",
        "",
        "en",
        "adult_iop",
        [DEMO_CLIENT_CHART] + ADULT_CORE[19:28],
    ),
    (
        "Grupo de Apoyo",
        "support",
        8,
        "eortiz",
        None,
        "in_person",
        "Room 104",
        "es",
        "adult_iop",
        ["IOP-1002", "IOP-1007", "IOP-1013", "IOP-1018", "IOP-1028", "IOP-1034"],
    ),
    (
        "Teen Coping Skills",
        "skills_development",
        8,
        "eortiz",
        "mbell",
        "hybrid",
        "Room 105",
        "en",
        "adolescent_iop",
        [c[0] for c in CLIENTS if c[5] == "adolescent_iop"],
    ),
]

# The clinic's week, after the seed article: group name -> (weekday, start, minutes, objective).
SLOTS = {
    "Understanding Anxiety & Depression": [
        (0, "10:00", 90, "Psychoeducation: how anxiety and depression work, and what helps"),
    ],
    "Mindfulness & Grounding Skills": [(1, "10:00", 90, "Practise mindfulness and grounding techniques")],
    "Open Process Group": [(2, "10:00", 90, "Open sharing of challenges and successes")],
    "Relapse Prevention & Coping Skills": [(3, "10:00", 90, "Identify triggers and plan coping skills")],
    "Weekend Planning Check-in": [(4, "10:00", 60, "Support check-in and weekend planning")],
    "Grupo de Apoyo": [(1, "18:00", 75, "Compartir apoyo y planear la semana")],
    "Teen Coping Skills": [
        (0, "16:00", 60, "Coping skills for stress at school and home"),
        (2, "16:00", 60, "Practise a coping skill and plan the week"),
    ],
}
HISTORY_WEEKS = 4


class Command(BaseCommand):
    help = "Create the demo clinic (idempotent) and the demo logins staff, therapist, client and cliente."

    @transaction.atomic
    def handle(self, *args, **options):
        # Two runs at once (two terminals, a deploy that seeds while make run does) would both see
        # no session today, no attendance on last week's meetings, and make them twice: the
        # second run waits here for the first and then finds the demo made.
        hold_until_commit("seed_demo")
        # The demo's writes are recorded in the audit trail; its lock before any row's.
        hold_chain()
        today = timezone.localdate()
        staff = self._user("staff", "Sam", "Rivera", is_staff=True)
        staff.groups.add(Group.objects.get(name=CLINIC_STAFF))

        therapists = {}
        for username, first, last, credentials in THERAPISTS:
            user = self._user(username, first, last)
            therapists[username], _ = Therapist.objects.get_or_create(user=user, defaults={"credentials": credentials})

        agreement, _ = ConfidentialityAgreement.objects.get_or_create(
            version=1, defaults={"text": AGREEMENT_TEXT, "effective_on": today - datetime.timedelta(days=365)}
        )

        clients, created_clients = {}, []
        for index, (chart, first, last, preferred, year, level, language, status, signed) in enumerate(CLIENTS):
            admitted = today - datetime.timedelta(days=7 + index % 30)
            if chart == DEMO_CLIENT_CHART:
                # Long enough in the program for eight weeks of check-ins and questionnaires.
                admitted = today - datetime.timedelta(weeks=DEMO_MEASURE_WEEKS, days=1)
            client, created = Client.objects.get_or_create(
                chart_number=chart,
                defaults={
                    "legal_first_name": first,
                    "legal_last_name": last,
                    "preferred_name": preferred,
                    "date_of_birth": datetime.date(year, 1 + index % 12, 1 + index % 28),
                    "email": f"{first.lower()}.{last.lower().replace(chr(39), '')}@example.org",
                    "phone": f"+1-555-01{index:02d}",
                    "status": status,
                    "admission_date": admitted if status != "intake" else None,
                    "discharge_date": today - datetime.timedelta(days=2) if status == "discharged" else None,
                    "level_of_care": level,
                    "preferred_language": language,
                    "communication_preferences": "Needs a Spanish interpreter for paperwork."
                    if language == "es" and index % 2
                    else "",
                    "reminder_channel": (Client.ReminderChannel.EMAIL, Client.ReminderChannel.SMS)[index % 2],
                    "reminder_consent": index % 7 != 3,
                },
            )
            if created:
                created_clients.append(client.pk)
            if created and signed and status != "discharged":
                sign_agreement(
                    client=client,
                    agreement=agreement,
                    witnessed_by=staff,
                    signed_at=timezone.now() - datetime.timedelta(days=7 + index % 30),
                )
            clients[chart] = client
        if created_clients:
            # Demo records, made directly rather than by a form: one audit INSERT for all of them,
            # by the system (a command runs outside any request).
            record(Action.CREATE, target=Client, clients=created_clients, detail="demo record created by seed_demo")

        demo_client = clients[DEMO_CLIENT_CHART]
        if demo_client.portal_user_id is None:
            demo_client.portal_user = self._user("client", demo_client.first_name, demo_client.legal_last_name)
            demo_client.save(update_fields=["portal_user"])
            record(Action.CREATE, target=demo_client.portal_user, clients=[demo_client], detail="demo portal login")

        first, second = (clients[chart] for chart in PARTNERS)
        if first.partner_id != second.pk:
            link_partners(client=first, partner=second)

        for name, kind, capacity, lead, co_lead, modality, room, language, audience, members in GROUPS:
            group, created = TherapyGroup.objects.get_or_create(
                name=name,
                defaults={
                    "kind": kind,
                    "capacity": capacity,
                    "facilitator": therapists[lead],
                    "co_facilitator": therapists[co_lead] if co_lead else None,
                    "modality": modality,
                    "room": room,
                    "video_link": "https://video.example.org/j/4471-2290" if modality != "in_person" else "",
                    "language": language,
                    "audience": audience,
                    "start_date": today - datetime.timedelta(days=60),
                },
            )
            if not created:
                continue
            for chart in members:
                client = clients[chart]
                if client.status == Client.Status.ACTIVE and client.signatures.exists():
                    confirmations = demo_confirmations(client=client, group=group)
                    enroll_client(client=client, group=group, on=client.admission_date, **confirmations)

        self._schedule(today)

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo clinic ready: {Client.objects.count()} clients, {TherapyGroup.objects.count()} groups, "
                f"{Membership.objects.active().count()} active memberships, "
                f"{Membership.objects.waitlisted().count()} waitlisted, {Session.objects.count()} sessions."
            )
        )
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}): staff, therapist, client")
        # The plans first: the notes link the goals they addressed.
        seed_plans(stdout=self.stdout, demo_client=clients[DEMO_CLIENT_CHART])
        seed_progress(stdout=self.stdout)
        seed_measures(stdout=self.stdout, demo_client=clients[DEMO_CLIENT_CHART])
        # Last: the discharged clients' summaries gather the attendance and measures above.
        seed_discharges(stdout=self.stdout)
        seed_preparation(stdout=self.stdout)
        seed_undocumented_session(stdout=self.stdout)
        seed_spanish_client(stdout=self.stdout, make_user=self._user)
        seed_group_finder(stdout=self.stdout, staff=staff)

    def _schedule(self, today: datetime.date) -> None:
        for group in TherapyGroup.objects.filter(name__in=SLOTS, slots__isnull=True):
            for weekday, start, minutes, objective in SLOTS[group.name]:
                save_slot(
                    slot=WeeklySlot(
                        group=group,
                        weekday=weekday,
                        start_time=datetime.time.fromisoformat(start),
                        duration_minutes=minutes,
                        is_virtual=group.modality == TherapyGroup.Modality.VIRTUAL,
                        default_objective=objective,
                        effective_from=group.start_date,
                    )
                )
        # A few weeks of history for the therapists' pages, and the weeks ahead for everyone.
        generation = generate_sessions(start=monday_of(today) - datetime.timedelta(weeks=HISTORY_WEEKS), today=today)
        for refusal in generation.refused:
            self.stderr.write(f"Session not generated: {refusal}")

    def _user(self, username: str, first: str, last: str, *, is_staff: bool = False):
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "is_staff": is_staff,
                "email": f"{username}@clinic.example.org",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user
