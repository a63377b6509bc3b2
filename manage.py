#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop.settings")
    if "DJANGO_DEBUG" not in os.environ and not os.environ.get("DJANGO_SECRET_KEY"):
        # No secret key: this is a development copy, not a server (production cannot start without
        # one). Commands run as in development; the web server (iop/wsgi.py) and the Celery worker
        # keep the strict default, debug off.
        os.environ["DJANGO_DEBUG"] = "on"
        print("manage.py: no DJANGO_SECRET_KEY, so this is a development copy (DJANGO_DEBUG=on).", file=sys.stderr)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
