from django.contrib.admin.utils import quote
from django.urls import reverse

from iop.links import urls_of


def test_a_url_from_one_reverse_is_the_url_reverse_gives_for_each_key():
    for name in ("therapist:session", "therapist:note", "therapist:group", "therapist:discharge"):
        url = urls_of(name)
        for pk in (1, 42, 9_876_543_210, 12_345_678_901_234):
            assert url(pk) == reverse(name, args=[pk])


def test_admin_keys_are_quoted_as_the_admin_quotes_them():
    url = urls_of("admin:auth_user_change", quote=quote)

    assert url("a/b_c") == reverse("admin:auth_user_change", args=[quote("a/b_c")])
    assert url(7) == reverse("admin:auth_user_change", args=[7])
