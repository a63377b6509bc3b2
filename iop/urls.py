from django.contrib import admin
from django.urls import include, path

from iop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/keep-alive/", views.keep_alive, name="keep_alive"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("schedule/", include("scheduling.urls")),
    path("therapist/", include("progress.urls")),
    path("healthz", views.healthz, name="healthz"),
]
