from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # The password-reset throttle counts in Django's database cache (settings.CACHES); `migrate`
    # makes its table so that no deployment step is forgotten. An existing table is left alone.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("iop", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
