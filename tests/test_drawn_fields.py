"""Fields drawn in Python (iop.forms.DrawnField) write the HTML Django's widget templates write,
and their field group ties label, errors and help text to the control."""

from datetime import date, datetime, time

import pytest
from django import forms
from django.contrib.admin.widgets import AdminDateWidget, AdminSplitDateTime, AdminTimeWidget
from django.forms.boundfield import BoundField
from django.test.html import parse_html

from iop.forms import DrawnField, FixedChoices

CHOICES = [("", "— choose —"), ("present", "Present"), ("late", 'Late & "quoted"')]
NUMBERED = [(None, "— choose —"), (0, "0 — none"), (2, "2 — took part")]
GROUPED = [("In the room", [("in_person", "In person")]), ("Away", [("virtual", "Virtual")])]


class Everything(forms.Form):
    bound_field_class = DrawnField

    text = forms.CharField(max_length=20, help_text="Short <b>text</b>.")
    optional_text = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "Say <it>"}))
    minutes = forms.IntegerField(min_value=0, max_value=90, widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    hidden = forms.IntegerField(widget=forms.HiddenInput)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    kept_password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=True))
    observation = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    status = forms.ChoiceField(choices=CHOICES, required=False)
    participation = forms.TypedChoiceField(choices=NUMBERED, coerce=int, required=False, empty_value=None)
    mode = forms.ChoiceField(choices=GROUPED)
    agreed = forms.BooleanField(required=False)
    kinds = forms.MultipleChoiceField(choices=CHOICES[1:], required=False, widget=forms.CheckboxSelectMultiple)
    places = forms.MultipleChoiceField(choices=GROUPED, required=False, widget=forms.CheckboxSelectMultiple)
    channel = forms.ChoiceField(choices=CHOICES[1:], widget=forms.RadioSelect(attrs={"class": "inline"}))
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    starts = forms.TimeField(required=False, widget=forms.TimeInput)
    admin_day = forms.DateField(required=False, widget=AdminDateWidget)
    admin_time = forms.TimeField(required=False, widget=AdminTimeWidget)
    admin_moment = forms.SplitDateTimeField(required=False, widget=AdminSplitDateTime)
    # Attributes DrawnField.build_widget_attrs writes as Django's does: a disabled field, and a
    # widget that names what describes it (its help text and errors are not added).
    locked = forms.CharField(disabled=True, required=False, help_text="Set by the clinic.")
    described = forms.CharField(help_text="See above.", widget=forms.TextInput(attrs={"aria-describedby": "above"}))
    # A widget whose template DrawnField does not write: drawn by its template.
    signed_at = forms.SplitDateTimeField(required=False)


VALUES = {
    "text": "a <b>\"bold\"</b> & 'that'",
    "optional_text": "",
    "minutes": "45",
    "hidden": "7",
    "email": "not an address",
    "password": "secret",
    "kept_password": "kept",
    "observation": "\nfirst line\n<script>",
    "status": "late",
    "participation": "2",
    "mode": "virtual",
    "agreed": "on",
    "kinds": ["late"],
    "places": ["in_person", "virtual"],
    "channel": "present",
    "day": "2026-11-30",
    "starts": "not a time",
    "admin_day": "2026-11-30",
    "admin_time": "17:30",
    "admin_moment_0": "2026-11-30",
    "admin_moment_1": "not a time",
    "locked": "changed",
    "described": "",
    "signed_at_0": "2026-11-30",
    "signed_at_1": "17:30",
}
INITIAL = {
    "hidden": 3,
    "status": "present",
    "participation": 0,
    "observation": "noted",
    "minutes": None,
    "agreed": True,
    "kinds": ["present", "late"],
    "day": date(2026, 11, 30),
    "admin_time": time(9, 0),
    "admin_moment": datetime(2026, 11, 30, 9, 30),
}


def forms_to_draw():
    yield Everything(prefix="form-0")
    yield Everything(initial=INITIAL, prefix="form-1")
    bound = Everything({f"form-2-{name}": value for name, value in VALUES.items()}, prefix="form-2")
    bound.is_valid()
    yield bound
    empty = Everything({}, prefix="form-3")
    empty.is_valid()
    yield empty


@pytest.mark.parametrize("form", list(forms_to_draw()), ids=["unbound", "initial", "bound", "bound empty"])
@pytest.mark.parametrize("name", list(Everything.base_fields))
@pytest.mark.parametrize("attrs", [None, {"class": "form-control is-invalid"}])
def test_a_drawn_control_is_the_html_django_templates_write(form, name, attrs):
    drawn = form[name]
    assert isinstance(drawn, DrawnField)
    templated = BoundField(form, form.fields[name], name)
    assert parse_html(str(drawn.as_widget(attrs=attrs))) == parse_html(str(templated.as_widget(attrs=attrs)))


def test_the_field_group_ties_label_errors_and_help_to_the_control():
    form = Everything({"text": "", "minutes": "900"})
    form.is_valid()
    group = parse_html(str(form["minutes"].as_field_group()))
    html = str(form["minutes"].as_field_group())
    assert '<label for="id_minutes" class="form-label">Minutes' in html
    assert 'class="form-control is-invalid"' in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_minutes_error"' in html
    assert '<div id="id_minutes_error" class="invalid-feedback">' in html
    assert "less than or equal to 90" in html
    assert group.count(parse_html('<span class="asteriskField" aria-hidden="true">*</span>')) == 1

    text = str(form["text"].as_field_group())
    assert 'aria-describedby="id_text_helptext id_text_error"' in text
    # Help text is the form's own words, escaped like any other text.
    assert '<div id="id_text_helptext" class="form-text">Short &lt;b&gt;text&lt;/b&gt;.</div>' in text


def test_a_select_field_group_is_a_bootstrap_select_and_an_optional_field_has_no_asterisk():
    html = str(Everything(initial=INITIAL)["status"].as_field_group())
    assert 'class="form-select"' in html
    assert '<option value="present" selected>Present</option>' in html
    assert "asteriskField" not in html
    assert "invalid-feedback" not in html


def test_a_hidden_field_group_is_the_control_alone():
    html = str(Everything(initial=INITIAL)["hidden"].as_field_group())
    assert parse_html(html) == parse_html('<input type="hidden" name="hidden" value="3" id="id_hidden">')


def test_a_small_control_is_the_control_alone_still_tied_to_its_error_and_help():
    form = Everything({"text": "", "minutes": "900"})
    form.is_valid()
    minutes = str(form["minutes"].small_control)
    assert 'class="form-control form-control-sm is-invalid"' in minutes
    assert 'aria-invalid="true"' in minutes
    assert 'aria-describedby="id_minutes_error"' in minutes
    assert "<label" not in minutes
    assert 'class="form-select form-select-sm"' in str(Everything(initial=INITIAL)["status"].small_control)
    assert 'aria-describedby="id_text_helptext id_text_error"' in str(form["text"].small_control)


class Row(forms.Form):
    bound_field_class = DrawnField

    listed = forms.ChoiceField(choices=CHOICES, required=False)
    fixed = forms.ChoiceField(choices=FixedChoices(CHOICES), required=False)
    listed_level = forms.TypedChoiceField(choices=NUMBERED, coerce=int, empty_value=None)
    fixed_level = forms.TypedChoiceField(choices=FixedChoices(NUMBERED), coerce=int, empty_value=None)


def test_fixed_choices_are_shared_by_every_form_and_draw_and_validate_as_a_list():
    first, second = Row(initial={"listed": "late", "fixed": "late"}), Row()
    assert first.fields["fixed"].choices is second.fields["fixed"].choices
    assert list(first.fields["fixed"].choices) == CHOICES

    for listed, fixed in (("listed", "fixed"), ("listed_level", "fixed_level")):
        assert str(first[fixed]).replace(fixed, listed) == str(first[listed])
        bound = Row({listed: "nope", fixed: "nope"})
        assert not bound.is_valid()
        assert bound.errors[fixed] == bound.errors[listed]
        assert str(bound[fixed]).replace(fixed, listed) == str(bound[listed])
    valid = Row({"listed": "late", "fixed": "late", "listed_level": "0", "fixed_level": "0"})
    assert valid.is_valid(), valid.errors
    assert valid.cleaned_data["fixed"] == valid.cleaned_data["listed"] == "late"
    assert valid.cleaned_data["fixed_level"] == valid.cleaned_data["listed_level"] == 0
