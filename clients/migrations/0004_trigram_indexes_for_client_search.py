"""Trigram indexes for the admin's search of clients, on PostgreSQL only.

The admin finds a client (and, from the client, their attendance, notes, reminders and
memberships) by chart number or name: Django searches ``UPPER(column) LIKE UPPER('%term%')``
(or ``'term%'`` for a prefix), which a B-tree cannot serve; a GIN index of the column's trigrams
(pg_trgm) serves both. SQLite, where the tests also run, has neither and needs neither: there the
migration does nothing."""

from django.db import migrations

SEARCHED = ["chart_number", "legal_last_name", "legal_first_name", "preferred_name", "email"]


def index_name(column: str) -> str:
    return f"clients_client_{column}_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in SEARCHED:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(column)} ON clients_client USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index_name(column)}")


class Migration(migrations.Migration):
    dependencies = [("clients", "0003_dates_within_clinic_range")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
