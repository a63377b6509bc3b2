"""A link to each row of a list, from one ``reverse()``.

``reverse()`` walks the URL patterns at every call: a list of sessions, notes or clients that
links each of its rows paid that walk per row, most of the cost of drawing the row. A page reverses
the URL once with a stand-in for the row's key and puts each row's key in its place."""

from collections.abc import Callable

from django.urls import reverse

# Stands for the row's key in the one reversed URL: digits, so that an ``<int:pk>`` pattern takes
# it as it takes any id.
KEY = 9_876_543_210


def urls_of(
    url_name: str, *, current_app: str | None = None, quote: Callable[[object], str] = str
) -> Callable[[object], str]:
    """The URL ``url_name`` has for a key, for any key: ``urls_of("therapist:session")(42)`` is
    ``reverse("therapist:session", args=[42])``. ``quote`` writes the key into the path (the
    admin quotes its object ids)."""
    head, tail = reverse(url_name, args=(KEY,), current_app=current_app).rsplit(str(KEY), 1)
    return lambda key: f"{head}{quote(key)}{tail}"
