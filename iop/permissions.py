"""The clinic's permission groups, filled by data migrations in each app: "Clinic staff" (the
front desk) and "Clinical supervisor" (reads progress notes in full).

Permissions are normally created after ``migrate`` finishes; the migrations that grant them
create them first so that a fresh database has a usable group straight away.
"""

CLINIC_STAFF = "Clinic staff"
CLINICAL_SUPERVISOR = "Clinical supervisor"


def grant_to_clinic_staff(apps, permissions: list[str]) -> None:
    """Give the group each permission, named "app_label.codename"."""
    grant_to_group(apps, CLINIC_STAFF, permissions)


def grant_to_group(apps, name: str, permissions: list[str]) -> None:
    """Give the group ``name`` (made if missing) each permission, named "app_label.codename"."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for label in {permission.split(".")[0] for permission in permissions}:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_contenttypes(app_config, apps=apps, verbosity=0)
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=name)
    for permission in permissions:
        label, codename = permission.split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=label, codename=codename))
