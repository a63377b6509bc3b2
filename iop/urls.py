from django.contrib import admin
from django.urls import include, path

from iop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("schedule/", include("scheduling.urls")),
    path("therapist/", include("progress.urls")),
    path("healthz", views.healthz, name="healthz"),
]
