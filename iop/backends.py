"""How a signed-in person is loaded on each request."""

from django.contrib.auth import backends


class ModelBackend(backends.ModelBackend):
    """Django's, but the signed-in user comes with their therapist and client records (either, or
    neither) in the same query.

    Nearly every page asks which of them the person is: the therapist's pages and the portal to
    find their own record, the sign-in steps whether a second factor is owed, the audit trail the
    role it writes on each row. Asked of a bare user, each is a query of its own on every request."""

    def get_user(self, user_id):
        # By name: the records are the groups and clients apps' (which this layer does not import).
        users = backends.UserModel._default_manager.select_related("therapist", "client")
        try:
            user = users.get(pk=user_id)
        except backends.UserModel.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
