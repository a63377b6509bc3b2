import copy
import logging
from collections.abc import Callable
from functools import cache

from axes.helpers import get_client_ip_address
from django import forms
from django.conf import settings
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.forms.boundfield import BoundField
from django.forms.utils import ErrorList
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import translation
from django.utils.choices import BaseChoiceIterator, normalize_choices
from django.utils.functional import cached_property
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_lazy

from iop.accounts import RecordsPasswordChange, is_clinician
from iop.discretion import undiscreet_words
from iop.html import escaped
from iop.i18n import language_of
from iop.passwords import (
    LOCKED_OUT_MESSAGE,
    PasswordCheck,
    check_password_or_count_failure,
    password_chosen_by_user,
    reset_mail_allowed,
)
from iop.two_factor import WRONG_CODE, has_second_factor, verify_second_factor

logger = logging.getLogger(__name__)


class NewLoginForm(forms.Form):
    """Username and a first password typed twice, for the logins staff make (iop.accounts).

    The rules (taken username, weak password) are the service's; ``add_service_error`` puts its
    refusal on these fields."""

    username = forms.CharField(max_length=150, help_text="What they type to sign in.")
    password1 = forms.CharField(label="First password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="The same password again", widget=forms.PasswordInput, strip=False)

    def clean_password2(self):
        first, second = self.cleaned_data.get("password1"), self.cleaned_data.get("password2")
        if first and second and first != second:
            raise forms.ValidationError("The two passwords differ.")
        return second

    def add_service_error(self, error: ValidationError) -> None:
        refusals = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        # The service names the password "password"; this form asks for it in "password1".
        if "password" in refusals:
            refusals["password1"] = refusals.pop("password")
        add_refusals(self, refusals)


def add_refusals(form: forms.BaseForm, refusals: dict[str, list[str]] | ValidationError) -> None:
    """The one bridge from a service's rules to a form: each reason on its field when the form has
    that field, on the form's top otherwise. Takes a ``*_refusals`` dict or a raised error."""
    if isinstance(refusals, ValidationError):
        refusals = refusals.message_dict if hasattr(refusals, "error_dict") else {None: refusals.messages}
    for field, reasons in refusals.items():
        for reason in reasons:
            form.add_error(field if field in form.fields else None, reason)


class ModelValidatorsFirst:
    """For ModelForms whose ``clean()`` hands values to a service: the model fields' validators
    (e.g. a date's bounds, iop.dates) run with each form field, so the service never sees a value
    the model would refuse. Django runs them only after ``clean()``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            try:
                model_field = self._meta.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            # A number field also takes the database's range (2**66 minutes is a field error, not an
            # OverflowError); a choice field compares strings, so it takes only the declared rules.
            own = model_field.validators if isinstance(field, forms.IntegerField) else model_field._validators
            field.validators = [*field.validators, *(v for v in own if v not in field.validators)]


# --- Fields drawn without the template engine --------------------------------------------------

# The widget templates whose HTML ``DrawnField`` writes itself: each is an <input> (the templates
# of dates, times and check boxes are input.html too, as are the admin's date and time widgets
# inside their paragraph), the text area, the select, and the lists of check boxes or radio
# buttons; any other widget is drawn by its own template.
INPUT_TEMPLATES = {
    f"django/forms/widgets/{name}.html"
    for name in (
        "input",
        "text",
        "number",
        "email",
        "url",
        "password",
        "hidden",
        "search",
        "tel",
        "date",
        "time",
        "datetime",
        "checkbox",
    )
}
ADMIN_INPUT_TEMPLATES = {"admin/widgets/date.html": "date", "admin/widgets/time.html": "time"}
ADMIN_SPLIT_DATETIME_TEMPLATE = "admin/widgets/split_datetime.html"
TEXTAREA_TEMPLATE = "django/forms/widgets/textarea.html"
LABEL_TEMPLATE = "django/forms/label.html"
SELECT_TEMPLATES = ("django/forms/widgets/select.html", "django/forms/widgets/select_option.html")
MULTIPLE_INPUT_TEMPLATES = {
    ("django/forms/widgets/checkbox_select.html", "django/forms/widgets/checkbox_option.html"),
    ("django/forms/widgets/radio.html", "django/forms/widgets/radio_option.html"),
}


@cache
def _attribute_name(name: str) -> str:
    """An attribute's name, escaped once for the process: the widgets use a dozen names (class,
    id, rows, required, the aria attributes) over and over."""
    return escaped(name)


def _attrs(attrs: dict) -> str:
    """Attributes as django/forms/widgets/attrs.html writes them: in order, True bare, False left out."""
    return "".join(
        [
            f" {_attribute_name(name)}" if value is True else f' {_attribute_name(name)}="{escaped(value)}"'
            for name, value in attrs.items()
            if value is not False
        ]
    )


class FixedChoices(BaseChoiceIterator):
    """A choice field's choices that no form changes (a model's statuses, a scale's levels),
    shared by every copy of the field. Django copies a form's fields for each form, and a
    choice field's choices item by item twice (the field's and its widget's), so that a form
    may change its own; the roster's form for each member copied its three lists, most of the
    cost of making the form. These are a tuple that nothing changes: a copy is the same."""

    def __init__(self, choices):
        self.choices = tuple(normalize_choices(choices))

    def __iter__(self):
        return iter(self.choices)

    def __len__(self) -> int:
        return len(self.choices)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


class QuietErrorList(ErrorList):
    """A field's errors; when it has none, nothing, without asking the template engine (which
    writes nothing for them either). An admin page asks every field for its errors: some sixty
    empty lists drawn through templates on a group's page."""

    def render(self, template_name=None, context=None, renderer=None):
        return "" if not self.data else super().render(template_name, context, renderer)


def drawn_in_python(form_class: type[forms.BaseForm]) -> type[forms.BaseForm]:
    """``form_class``, a class made for one page (as the admin makes its forms), with its fields
    drawn by ``DrawnField``, its labels drawn in Python (``_label_html``) and its empty error lists
    written as nothing."""
    form_class.bound_field_class = DrawnField
    init = form_class.__init__
    if not getattr(init, "quiets_errors", False):

        def init_quieting_errors(form, *args, **kwargs):
            init(form, *args, **kwargs)
            # Set on the form, not its class: BaseForm.__init__ sets the error class it is given
            # (Django's ErrorList by default, or its formset's) on each form.
            form.error_class = QuietErrorList

        init_quieting_errors.quiets_errors = True
        form_class.__init__ = init_quieting_errors
    render = form_class.render
    if not getattr(render, "draws_labels", False):

        def render_drawing_labels(form, template_name=None, context=None, renderer=None):
            if template_name == LABEL_TEMPLATE and context is not None:
                return _label_html(context)
            return render(form, template_name, context, renderer)

        render_drawing_labels.draws_labels = True
        form_class.render = render_drawing_labels
    return form_class


def management_inputs(formset: forms.BaseFormSet) -> str:
    """A formset's management form, its hidden inputs drawn as ``DrawnField`` draws them rather
    than through the form's template and a widget template each; with errors (a tampered post),
    through the template, which names them."""
    management = formset.management_form
    if management.is_bound and management.errors:
        return str(management)
    management.bound_field_class = DrawnField
    return SafeString("".join(str(field) for field in management.hidden_fields()))


def _label_html(context: dict) -> str:
    """What django/forms/label.html writes for ``BoundField.label_tag``'s context: an admin page
    draws a label for each field, each through two templates."""
    label = escaped(context["label"])
    if not context["use_tag"]:
        return label
    tag = escaped(context["tag"])
    return SafeString(f"<{tag}{_attrs(context['attrs'] or {})}>{label}</{tag}>")


def _related_widget_html(context: dict) -> str:
    """What admin/widgets/related_widget_wrapper.html writes around an admin's related-object
    control (its add, change, delete and view links): four links, four static files and their
    translated titles through the template engine, for each such control of an admin page."""
    links = []
    if not context["is_hidden"]:
        name, model = escaped(context["name"]), escaped(context["model"])
        url_params = escaped(context["url_params"])

        def link(action: str, icon: str, title: str, target: str, popup: bool = True) -> str:
            popup_attr = ' data-popup="yes"' if popup else ""
            return (
                f'<a class="related-widget-wrapper-link {action}-related" id="{action}_id_{name}"'
                f'{target}{popup_attr} title="{title}">'
                f'<img src="{escaped(static(f"admin/img/icon-{icon}link.svg"))}" alt="" width="24" height="24"></a>'
            )

        if context["can_change_related"]:
            target = f' data-href-template="{escaped(context["change_related_template_url"])}?{url_params}"'
            links.append(link("change", "change", gettext("Change selected %(model)s") % {"model": model}, target))
        if context["can_add_related"]:
            target = f' href="{escaped(context["add_related_url"])}?{url_params}"'
            links.append(link("add", "add", gettext("Add another %(model)s") % {"model": model}, target))
        if context["can_delete_related"]:
            target = f' data-href-template="{escaped(context["delete_related_template_url"])}?{url_params}"'
            links.append(link("delete", "delete", gettext("Delete selected %(model)s") % {"model": model}, target))
        if context["can_view_related"]:
            params = escaped(context["view_related_url_params"])
            target = f' data-href-template="{escaped(context["change_related_template_url"])}?{params}"'
            title = gettext("View selected %(model)s") % {"model": model}
            links.append(link("view", "view", title, target, popup=False))
    model_ref = "" if context["model_has_limit_choices_to"] else f'data-model-ref="{escaped(context["model_name"])}"'
    return SafeString(
        f'<div class="related-widget-wrapper" {model_ref}>\n{escaped(context["rendered_widget"])}\n'
        f"{''.join(links)}\n</div>"
    )


def _input_html(widget: dict) -> str:
    """django/forms/widgets/input.html, for a widget's context or a check box option's."""
    value = f' value="{escaped(widget["value"])}"' if widget["value"] is not None else ""
    return f'<input type="{escaped(widget["type"])}" name="{escaped(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def _admin_input_html(widget: dict) -> str:
    """admin/widgets/date.html and time.html: the input in a paragraph that the admin's
    calendar and clock find by its class."""
    return f'<p class="{ADMIN_INPUT_TEMPLATES[widget["template_name"]]}">\n  {_input_html(widget)}\n</p>'


def _admin_split_datetime_html(widget: dict) -> str:
    """admin/widgets/split_datetime.html: the day's and the time's inputs, each after its label
    (the labels AdminSplitDateTime gives its template)."""
    day, time = widget["subwidgets"]
    return (
        f'<p class="datetime">\n  {escaped(gettext("Date:"))} {_input_html(day)}<br>\n'
        f"  {escaped(gettext('Time:'))} {_input_html(time)}\n</p>"
    )


def _textarea_html(widget: dict) -> str:
    value = escaped(widget["value"] or "")
    return f'<textarea name="{escaped(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


def _select_html(widget: dict) -> str:
    options = []
    for group_name, group_options, _ in widget["optgroups"]:
        if group_name:
            options.append(f'<optgroup label="{escaped(group_name)}">')
        for option in group_options:
            value, label = escaped(option["value"]), escaped(option["label"])
            options.append(f'<option value="{value}"{_attrs(option["attrs"])}>{label}</option>')
        if group_name:
            options.append("</optgroup>")
    return f'<select name="{escaped(widget["name"])}"{_attrs(widget["attrs"])}>{"".join(options)}</select>'


def _multiple_input_html(widget: dict) -> str:
    """django/forms/widgets/multiple_input.html: check boxes (or radio buttons), each in its label."""
    attrs = widget["attrs"]
    parts = [
        "<div",
        f' id="{escaped(attrs["id"])}"' if attrs.get("id") else "",
        f' class="{escaped(attrs["class"])}"' if attrs.get("class") else "",
        ">",
    ]
    for group_name, options, _ in widget["optgroups"]:
        if group_name:
            parts.append(f"\n  <div><label>{escaped(group_name)}</label>")
        for option in options:
            control = _input_html(option)
            if option["wrap_label"]:
                label_for = f' for="{escaped(option["attrs"]["id"])}"' if option["attrs"].get("id") else ""
                control = f"<label{label_for}>{control} {escaped(option['label'])}</label>"
            parts.append(f"<div>\n    {control}</div>")
        if group_name:
            parts.append("\n  </div>")
    parts.append("\n</div>")
    return "".join(parts)


def _drawing(widget) -> Callable[[dict], str] | None:
    """The function that writes ``widget``'s template for its context, or None: drawn by its template."""
    template_name = getattr(widget, "template_name", None)
    if template_name in INPUT_TEMPLATES:
        return _input_html
    if template_name in ADMIN_INPUT_TEMPLATES:
        return _admin_input_html
    if template_name == ADMIN_SPLIT_DATETIME_TEMPLATE and all(
        part.template_name in INPUT_TEMPLATES for part in widget.widgets
    ):
        return _admin_split_datetime_html
    if template_name == TEXTAREA_TEMPLATE:
        return _textarea_html
    templates = (template_name, getattr(widget, "option_template_name", None))
    if templates == SELECT_TEMPLATES:
        return _select_html
    if templates in MULTIPLE_INPUT_TEMPLATES:
        return _multiple_input_html
    return None


class _DrawnInside:
    """The control inside an admin's related-object wrapper, drawn by ``draw``: the wrapper asks
    it only whether it is hidden and for its HTML (``RelatedFieldWidgetWrapper.get_context``)."""

    def __init__(self, widget, draw: Callable[[dict], str]):
        self.widget = widget
        self.draw = draw

    @property
    def is_hidden(self) -> bool:
        return self.widget.is_hidden

    def render(self, name, value, attrs=None, renderer=None) -> str:
        return SafeString(self.draw(self.widget.get_context(name, value, attrs)["widget"]))


class DrawnField(BoundField):
    """A form field drawn in Python, as Bootstrap 5 marks it up: ``{{ field }}`` is the control,
    ``{{ field.as_field_group }}`` the label, control, errors and help text, tied together by ids
    (``aria-describedby``, ``aria-invalid``) as Django's own field group ties them.

    Why not the widgets' templates: the therapist's roster and note pages hold a form per member,
    some seventy controls, and each control drawn through the template engine costs about a
    quarter of a millisecond (through crispy-forms' layouts, about five times that). The HTML is
    what Django's templates write for the same widget context (tests/test_drawn_fields.py holds
    them equal); a widget with another template is drawn by its template."""

    @cached_property
    def auto_id(self) -> str:
        """The control's id, worked out once: drawing a field asks for it four or five times
        (the control, its label, the ids of its help text and errors), and Django each time."""
        return super().auto_id

    def as_widget(self, widget=None, attrs=None, only_initial=False):
        widget = widget or self.field.widget
        if isinstance(widget, RelatedFieldWidgetWrapper) and not (only_initial or self.field.localize):
            attrs = self.build_widget_attrs(attrs or {}, widget)
            if self.auto_id and "id" not in widget.attrs:
                attrs.setdefault("id", self.auto_id)
            draw = _drawing(widget.widget)
            if draw is not None:
                widget = copy.copy(widget)
                widget.widget = _DrawnInside(widget.widget, draw)
            return _related_widget_html(widget.get_context(self.html_name, self.value(), attrs))
        draw = _drawing(widget)
        if only_initial or self.field.localize or draw is None:
            return super().as_widget(widget, attrs, only_initial)
        attrs = self.build_widget_attrs(attrs or {}, widget)
        if self.auto_id and "id" not in widget.attrs:
            attrs.setdefault("id", self.auto_id)
        return SafeString(draw(widget.get_context(self.html_name, self.value(), attrs)["widget"]))

    def build_widget_attrs(self, attrs, widget=None):
        """Django's ``BoundField.build_widget_attrs``, which asks for the field's errors twice
        (``aria-invalid``, ``aria-describedby``), each time making an empty list when there are
        none: asked once here. A field of several inputs (``MultiValueField``) is Django's."""
        field = self.field
        if isinstance(field, forms.MultiValueField):
            return super().build_widget_attrs(attrs, widget)
        widget = widget or field.widget
        attrs = dict(attrs)
        if field.required and self.form.use_required_attribute and widget.use_required_attribute(self.initial):
            attrs["required"] = True
        if field.disabled:
            attrs["disabled"] = True
        errors = self.drawn_errors
        if errors and not widget.is_hidden:
            attrs["aria-invalid"] = "true"
        # Django's order: the help text's id, then the errors'; a widget's own aria-describedby
        # (or the one given) is kept, and a fieldset is described by its legend.
        own = field.widget.attrs
        if not attrs.get("aria-describedby") and not own.get("aria-describedby") and not field.widget.use_fieldset:
            auto_id = self.auto_id
            if auto_id and not field.widget.is_hidden:
                described_by = [f"{auto_id}_helptext"] if self.help_text else []
                if errors:
                    described_by.append(f"{auto_id}_error")
                if described_by:
                    attrs["aria-describedby"] = " ".join(described_by)
        return attrs

    @property
    def drawn_errors(self) -> ErrorList | None:
        """The field's errors, None without any (``errors`` makes an empty list each time)."""
        return self.form.errors.get(self.name)

    def _css_class(self, size: str = "", *, errors: ErrorList | None = None) -> str:
        is_select = getattr(self.field.widget, "option_template_name", None) == SELECT_TEMPLATES[1]
        css = "form-select" if is_select else "form-control"
        return css + (f" {css}-{size}" if size else "") + (" is-invalid" if errors else "")

    @property
    def small_control(self):
        """The control alone, small, for a row that draws its own label and errors (the roster);
        ``aria-invalid`` and ``aria-describedby`` (the error's and help text's ids) as always."""
        return self.as_widget(attrs={"class": self._css_class("sm", errors=self.drawn_errors)})

    def as_field_group(self):
        if self.is_hidden:
            return self.as_widget()
        field_id = escaped(self.auto_id)
        errors = self.drawn_errors
        css = self._css_class(errors=errors)
        required = '<span class="asteriskField" aria-hidden="true">*</span>' if self.field.required else ""
        errors = "".join([f"<div>{escaped(error)}</div>" for error in errors or ()])
        errors = f'<div id="{field_id}_error" class="invalid-feedback">{errors}</div>' if errors else ""
        help_text = (
            f'<div id="{field_id}_helptext" class="form-text">{escaped(self.help_text)}</div>' if self.help_text else ""
        )
        return SafeString(
            f'<div class="mb-3"><label for="{escaped(self.id_for_label)}" class="form-label">'
            f"{escaped(self.label)}{required}</label>{self.as_widget(attrs={'class': css})}{errors}{help_text}</div>"
        )


# --- Passwords and the second factor --------------------------------------------------------


class SecondFactorForm(forms.Form):
    """A code from the authenticator app, or one of the recovery codes."""

    otp_token = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
        help_text=gettext_lazy("The 6 digits your authenticator app shows now, or one of your recovery codes."),
    )


class CountedPasswordChangeForm(RecordsPasswordChange, PasswordChangeForm):
    """Django's password change, whose old password counts toward the sign-in lockout (iop.passwords)."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        verdict = check_password_or_count_failure(self.request, self.user, old_password)
        if verdict is PasswordCheck.LOCKED_OUT:
            raise ValidationError(LOCKED_OUT_MESSAGE, code="locked_out")
        if verdict is not PasswordCheck.RIGHT:
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password

    def clean(self):
        cleaned = super().clean()
        old, new = cleaned.get("old_password"), cleaned.get("new_password1")
        if old and new and old == new:
            self.add_error("new_password1", gettext("Choose a password different from the one you have now."))
        return cleaned


class ThrottledPasswordResetForm(PasswordResetForm):
    """Django's reset by e-mail, with at most ``IOP_RESET_MAILS_PER_HOUR`` mails per e-mail address and
    per requesting address, discreet mails (templates/registration/password_reset_*.txt), and no
    mail to staff or therapists who could not answer the second factor that reset asks."""

    def get_users(self, email):
        for user in super().get_users(email):
            if settings.IOP_REQUIRE_2FA and is_clinician(user) and not has_second_factor(user):
                # E-mail alone must never reset a clinician's account; the administrator resets it.
                continue
            yield user

    def save(self, *args, request=None, extra_email_context=None, **kwargs):
        email = self.cleaned_data["email"]
        # The address as the lockout sees it (behind the proxy too: IOP_PROXY_COUNT).
        address = get_client_ip_address(request) if request is not None else None
        if not reset_mail_allowed(email=email, address=address):
            return
        context = {
            "clinic_short_name": settings.CLINIC_SHORT_NAME,
            "clinic_site_url": settings.CLINIC_SITE_URL,
            **(extra_email_context or {}),
        }
        super().save(*args, request=request, extra_email_context=context, **kwargs)

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        # A client reads it in their own language (iop/i18n.py); staff in the clinic's.
        with translation.override(language_of(context.get("user"))):
            subject = render_to_string(subject_template_name, context)
            body = render_to_string(email_template_name, context)
            found = undiscreet_words(subject) + undiscreet_words(body)
            if found:
                # The clinic's name or address gave the care away; nothing leaves the clinic.
                logger.error("A password mail was not sent: it would contain %s.", ", ".join(dict.fromkeys(found)))
                return
            super().send_mail(subject_template_name, email_template_name, context, from_email, to_email, **kwargs)


class ResetSetPasswordForm(RecordsPasswordChange, SetPasswordForm):
    """The new password chosen from the reset link; whoever has a second factor types its code too,
    so a mailbox alone resets no account that has one."""

    otp_token = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=32,
        help_text=gettext_lazy("Your account has two-step sign-in: type the app's 6 digits, or a recovery code."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        # ``user`` is None when the link is not valid (the page then offers a new one).
        if user is None or not has_second_factor(user):
            del self.fields["otp_token"]

    def clean_otp_token(self):
        token = self.cleaned_data["otp_token"]
        if verify_second_factor(user=self.user, token=token) is None:
            raise ValidationError(WRONG_CODE, code="wrong_code")
        return token

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            password_chosen_by_user(user)
        return user
