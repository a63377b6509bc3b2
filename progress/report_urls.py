from django.urls import path

from progress import report_views

app_name = "reports"

urlpatterns = [
    path("", report_views.index, name="index"),
    path("<slug:slug>/", report_views.report, name="report"),
]
