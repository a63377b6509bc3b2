"""The Spanish catalog is complete, and the compiled .mo committed beside it says what the .po says
(the app runs translated on a machine without gettext, and CI compiles nothing)."""

import ast
import datetime
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.template.loader import get_template
from django.utils import translation

from iop.i18n import formatted

LOCALE = Path(settings.BASE_DIR) / "locale"
PO = LOCALE / "es" / "LC_MESSAGES" / "django.po"
MO = LOCALE / "es" / "LC_MESSAGES" / "django.mo"

# What a client reads: every template of the portal, the sign-in and password pages, the mails.
CLIENT_TEMPLATES = [
    "base.html",
    "scheduling/week.html",
    "scheduling/rotate_feed.html",
    "scheduling/language.html",
    "scheduling/preparation.html",
    "progress/portal/check_in.html",
    "progress/portal/history.html",
    "progress/portal/progress.html",
    "progress/portal/questionnaire.html",
    "progress/portal/questionnaire_done.html",
    "progress/portal/_crisis.html",
    "progress/portal/_prompt.html",
    "progress/progress/_hours.html",
    "progress/progress/_check_ins.html",
    "progress/progress/_measures.html",
    "progress/progress/_goals.html",
    "registration/login.html",
    "registration/password_change_form.html",
    "registration/password_change_done.html",
    "registration/password_reset_form.html",
    "registration/password_reset_done.html",
    "registration/password_reset_confirm.html",
    "registration/password_reset_complete.html",
    "registration/password_reset_email.txt",
    "registration/password_reset_subject.txt",
    "registration/locked_out.html",
    "registration/two_factor.html",
    "registration/two_factor_setup.html",
    "registration/two_factor_verify.html",
    "registration/two_factor_codes.html",
]
REMINDER_TEMPLATES = [
    f"reminders/{kind}{part}"
    for kind in ("reminder", "cancellation")
    for part in (".txt", ".html", "_sms.txt", "_subject.txt")
]


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgstr (by plural index) and flags."""
    entries, entry, field = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry is not None:
                entries.append(entry)
            entry = None
            continue
        entry = entry or {"msgid": "", "msgid_plural": None, "msgstr": {}, "flags": ""}
        if line.startswith("#,"):
            entry["flags"] += line
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            field, entry["msgid_plural"] = ("msgid_plural",), ast.literal_eval(line[13:])
        elif line.startswith("msgid "):
            field, entry["msgid"] = ("msgid",), ast.literal_eval(line[6:])
        elif line.startswith("msgstr["):
            index = int(line[7 : line.index("]")])
            field, entry["msgstr"][index] = ("msgstr", index), ast.literal_eval(line[line.index("]") + 2 :])
        elif line.startswith("msgstr "):
            field, entry["msgstr"][0] = ("msgstr", 0), ast.literal_eval(line[7:])
        elif line.startswith('"'):
            if field[0] == "msgstr":
                entry["msgstr"][field[1]] += ast.literal_eval(line)
            else:
                entry[field[0]] += ast.literal_eval(line)
    return [entry for entry in entries if entry["msgid"]]


def test_every_entry_of_the_spanish_catalog_is_translated():
    entries = read_po(PO)

    assert len(entries) > 150
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"].values()) or "fuzzy" in e["flags"]]
    assert untranslated == []


def test_the_compiled_catalog_says_what_the_po_says():
    """A .po edited without compiling (or the other way round) fails here."""
    with MO.open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)

    for entry in read_po(PO):
        if entry["msgid_plural"]:
            for count, index in ((1, 0), (2, 2)):
                assert catalog.ngettext(entry["msgid"], entry["msgid_plural"], count) == entry["msgstr"][index]
        else:
            assert catalog.gettext(entry["msgid"]) == entry["msgstr"][0], entry["msgid"]
    # Nothing in the .mo that the .po lacks: one key per singular, one per plural form, and the header.
    assert len(catalog._catalog) == 1 + sum(len(entry["msgstr"]) for entry in read_po(PO))


def test_placeholders_are_kept_in_every_translation():
    for entry in read_po(PO):
        wanted = sorted(re.findall(r"%\(\w+\)s|\{\}", entry["msgid"]))
        for text in entry["msgstr"].values():
            assert sorted(re.findall(r"%\(\w+\)s|\{\}", text)) == wanted, entry["msgid"]


def _texts_of(template_name: str) -> list[str]:
    """The texts a template marks for translation, as the catalog keys them."""
    source = get_template(template_name).template.source
    texts = re.findall(r'{%\s*translate\s+"([^"]+)"', source) + re.findall(r"{%\s*translate\s+'([^']+)'", source)
    for options, body in re.findall(r"{%\s*blocktranslate([^%]*)%}(.*?){%\s*endblocktranslate\s*%}", source, re.S):
        singular = body.split("{% plural %}")[0]
        if "trimmed" in options:
            singular = " ".join(line.strip() for line in singular.strip().splitlines())
        texts.append(re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", singular))
    return texts


def test_every_client_facing_text_is_in_the_spanish_catalog():
    msgids = {entry["msgid"] for entry in read_po(PO)}
    templates = [*CLIENT_TEMPLATES, *REMINDER_TEMPLATES]

    missing = {name: [t for t in _texts_of(name) if t not in msgids] for name in templates}

    assert {name: texts for name, texts in missing.items() if texts} == {}
    assert sum(len(_texts_of(name)) for name in templates) > 100


def test_a_language_without_a_translation_falls_back_to_english():
    from iop.i18n import supported_language

    assert supported_language("es") == "es"
    assert supported_language("vi") == "en"
    assert supported_language("zh-hans") == "en"
    assert supported_language("") == "en"
    with translation.override(supported_language("vi")):
        assert translation.gettext("Join video") == "Join video"
    with translation.override("es"):
        assert translation.gettext("Join video") == "Unirse por video"


# Client-facing texts written in Python: what a client reads that no template holds.
CLIENT_MODULES = [
    "scheduling/templatetags/portal_week.py",
    "scheduling/calendar.py",
    "scheduling/views.py",
    "progress/portal_views.py",
]
GETTEXT = {"gettext", "gettext_lazy", "_", "pgettext", "pgettext_lazy", "ngettext", "ngettext_lazy"}


def _python_texts(module: str) -> list[str]:
    """The texts a module marks for translation (the first literal argument of each gettext call)."""
    tree = ast.parse((Path(settings.BASE_DIR) / module).read_text(encoding="utf-8"))
    return [
        node.args[1 if node.func.id.startswith("p") else 0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in GETTEXT
        and isinstance(node.args[1 if node.func.id.startswith("p") else 0], ast.Constant)
    ]


def test_every_client_facing_text_written_in_python_is_in_the_spanish_catalog():
    msgids = {entry["msgid"] for entry in read_po(PO)}

    missing = {module: [t for t in _python_texts(module) if t not in msgids] for module in CLIENT_MODULES}

    assert {module: texts for module, texts in missing.items() if texts} == {}
    assert all(_python_texts(module) for module in CLIENT_MODULES)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(
    ("value", "format_string"),
    [
        (datetime.date(2027, 3, 14), "D M j"),
        (datetime.date(2026, 12, 31), "l, F j"),
        (datetime.time(0, 5), "g:i A"),
        (datetime.time(18, 30), "H:i"),
    ],
)
def test_a_day_or_time_written_once_reads_as_the_date_filter_writes_it(language, value, format_string):
    template = Template(
        "{{ value|date:format_string }}" if isinstance(value, datetime.date) else "{{ value|time:format_string }}"
    )
    with translation.override(language):
        # Twice: the second is the one worked out before, in the same language.
        for _ in range(2):
            assert formatted(value, format_string) == template.render(
                Context({"value": value, "format_string": format_string})
            )


def test_a_date_and_time_is_not_written_without_its_zone():
    with pytest.raises(TypeError):
        formatted(datetime.datetime(2027, 3, 14, 1, 30), "D M j")
