"""The settings the test-suite runs with: the application's own, with debug on.

``DJANGO_DEBUG`` defaults to off so that a server which forgets it is safe; the tests, like
``make run``, turn it on (a development secret key, local hosts). An explicit ``DJANGO_DEBUG`` in
the environment still wins."""

import os

os.environ.setdefault("DJANGO_DEBUG", "on")

from iop.settings import *  # noqa: F403
