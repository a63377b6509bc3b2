"""How a signed-in person is loaded on each request."""

from django.contrib.auth import backends
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from iop.statements import instances_of


class ModelBackend(backends.ModelBackend):
    """Django's, but the signed-in user comes with their therapist and client records (either, or
    neither) in the same query.

    Nearly every page asks which of them the person is: the therapist's pages and the portal to
    find their own record, the sign-in steps whether a second factor is owed, the audit trail the
    role it writes on each row. Asked of a bare user, each is a query of its own on every request."""

    def get_user(self, user_id):
        try:
            key = backends.UserModel._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        found = _user_with_records(key)
        return found[0] if found and self.user_can_authenticate(found[0]) else None


@instances_of
def _user_with_records(pk: int) -> QuerySet:
    """The user of a key with their records, as a list of one or none: SQL written once for the
    process (``iop.statements.instances_of``), since every page asks it; building and compiling
    the query cost it more than running it."""
    # By name: the records are the groups and clients apps' (which this layer does not import).
    return backends.UserModel._default_manager.select_related("therapist", "client").filter(pk=pk)
