"""The project's URLs and two pages that fail after reading, for tests/audit/test_request_reads.py."""

from django.db import transaction
from django.http import HttpResponse
from django.urls import path

from audit.trail import Action, record
from clients.models import Client
from iop.urls import urlpatterns as project_urlpatterns


def read_then_fail(request, pk):
    record(Action.VIEW, target=Client, clients=[pk], detail="a page that fails after reading")
    raise RuntimeError("the page failed after reading")


def read_in_a_transaction_then_fail(request, pk):
    with transaction.atomic():
        record(Action.VIEW, target=Client, clients=[pk], detail="read in a transaction rolled back")
        raise RuntimeError("the transaction is rolled back")


def read_and_show(request, pk):
    record(Action.VIEW, target=Client, clients=[pk], detail="a page that shows a client")
    return HttpResponse(f"client {pk}")


urlpatterns = [
    *project_urlpatterns,
    path("test/read-then-fail/<int:pk>/", read_then_fail),
    path("test/read-in-a-transaction-then-fail/<int:pk>/", read_in_a_transaction_then_fail),
    path("test/read-and-show/<int:pk>/", read_and_show),
]
