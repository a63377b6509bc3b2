"""A page added later is checked for accessibility without anyone remembering: every named address
is either in the browser check's list of pages or listed with the reason it is not a page."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver

from tests.browser.pages import ADMIN_MODEL_PAGES, ADMIN_NOT_PAGES, ADMIN_PAGES, NOT_PAGES, PAGES, STATES


def named_urls(patterns=None, namespace=""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from named_urls(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}"


def admin_model_urls() -> set[str]:
    return {
        f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}"
        for model in admin.site._registry
        for page in ADMIN_MODEL_PAGES
    }


def test_every_named_page_is_checked_or_excluded_with_a_reason():
    site_urls = {name for name in named_urls() if not name.startswith("admin:")}
    assert site_urls - PAGES.keys() - NOT_PAGES.keys() == set(), "add the page to tests/browser/pages.py"
    assert PAGES.keys() & NOT_PAGES.keys() == set()
    assert (PAGES.keys() | NOT_PAGES.keys()) - site_urls == set(), "a listed address no longer exists"
    # A page's other states are opened by the same person as the page.
    assert all(PAGES[name][0] == role for name, role, _ in STATES)


def test_every_admin_address_beside_the_model_pages_is_checked_or_excluded_with_a_reason():
    admin_urls = {name for name in named_urls() if name.startswith("admin:")} - admin_model_urls()
    assert admin_urls - ADMIN_PAGES.keys() - ADMIN_NOT_PAGES.keys() == set(), "add it to tests/browser/pages.py"
    assert ADMIN_PAGES.keys() & ADMIN_NOT_PAGES.keys() == set()
    listed = ADMIN_PAGES.keys() | ADMIN_NOT_PAGES.keys()
    assert listed - admin_urls - admin_model_urls() == set(), "a listed address no longer exists"


def test_every_reason_says_something():
    assert all(len(reason.split()) >= 3 for reason in {**NOT_PAGES, **ADMIN_NOT_PAGES}.values())
