"""The group finder in the staff admin: "Find a group" on a client's page.

It lives in progress because it weighs the kinds of group the client's treatment plan calls for;
the weighing itself is ``scheduling.finder`` and every enrolment from it is
``scheduling.enrolment.enroll_client``, the one path the admin's other enrolment pages take too.
Seeing it takes the view permissions on clients and groups; enrolling from it, the permission to
add memberships."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from audit.trail import Action, record
from clients.models import Client
from groups import services as group_services
from groups.models import TherapyGroup
from progress.models import TreatmentPlan
from scheduling import enrolment, finder
from scheduling.forms import FinderEnrolForm

VIEW_PERMISSIONS = ("clients.view_client", "groups.view_therapygroup")
ENROL_PERMISSION = "groups.add_membership"


def _client(request: HttpRequest, pk: int) -> Client:
    """The client whose groups are sought: staff with the view permissions, any client (the admin
    is the clinic's own tool); 404 for an id that is not a client."""
    if not request.user.has_perms(VIEW_PERMISSIONS):
        raise PermissionDenied
    return get_object_or_404(Client.objects.select_related("partner"), pk=pk)


def find_group_view(model_admin: admin.ModelAdmin, request: HttpRequest, pk: int) -> HttpResponse:
    client = _client(request, pk)
    if request.method == "POST":
        return _enrol(model_admin, request, client)
    plan = TreatmentPlan.objects.filter(client=client).only("recommended_group_kinds").first()
    search = finder.find_groups(
        client=client, recommended_kinds=plan.recommended_group_kinds if plan is not None else []
    )
    welcomes, avoids = finder.focus_summary(client)
    # The page names the client, their groups and, for staff, their partner and the partner's.
    record(
        Action.VIEW,
        target=client,
        clients=[client.pk, client.partner_id],
        detail=f"group finder: {len(search.fitting)} groups that fit shown",
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Find a group for {client.display_name}",
        "opts": Client._meta,
        "client": client,
        "plan": plan,
        "search": search,
        "recommended": ", ".join(
            label.lower() for kind, label in TherapyGroup.Kind.choices if kind in search.recommended_kinds
        ),
        "welcomes": welcomes,
        "avoids": avoids,
        "may_enrol": request.user.has_perm(ENROL_PERMISSION),
        "today": timezone.localdate(),
    }
    return TemplateResponse(request, "admin/find_group.html", context)


def _enrol(model_admin: admin.ModelAdmin, request: HttpRequest, client: Client) -> HttpResponse:
    """One click on a result: enrol (or waitlist) through the service; its refusals come back as
    messages on the finder, with nothing changed."""
    if not request.user.has_perm(ENROL_PERMISSION):
        raise PermissionDenied
    back = reverse("admin:progress_find_group", args=[client.pk])
    form = FinderEnrolForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
        return redirect(back)
    group = form.cleaned_data["group"]
    try:
        membership = enrolment.enroll_client(
            client=client,
            group=group,
            language_reason=form.cleaned_data["language_reason"],
            partner_reason=form.cleaned_data["partner_reason"],
        )
    except ValidationError as error:
        for reason in error.messages:
            messages.error(request, f"Not enrolled in {group.name}: {reason}")
        return redirect(back)
    model_admin.log_addition(request, membership, [{"added": {}}])
    messages.success(
        request,
        f"{client.display_name} is now {membership.get_status_display().lower()} in {group.name} "
        f"(seats {group_services.seat_count(group)}).",
    )
    return redirect("admin:clients_client_change", client.pk)
