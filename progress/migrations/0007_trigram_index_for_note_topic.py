"""A trigram index for the supervisors' search of note topics, on PostgreSQL only.

Django searches ``UPPER(topic) LIKE UPPER('%word%')``, which a B-tree cannot serve; a GIN index of
the topic's trigrams (pg_trgm, created by clients.0004) does. SQLite, where the tests also run,
has neither and needs neither: there the migration does nothing."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS progress_groupnote_topic_trgm ON progress_groupnote "
        "USING gin (UPPER(topic) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS progress_groupnote_topic_trgm")


class Migration(migrations.Migration):
    dependencies = [("progress", "0006_indexes_for_admin_lists"), ("clients", "0004_trigram_indexes_for_client_search")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
