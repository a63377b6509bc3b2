from django.contrib import admin
from django.urls import include, path

from iop import views

admin.site.site_header = "Clinic administration"
admin.site.site_title = "Clinic administration"
admin.site.index_title = "Run the clinic"

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("schedule/", include("scheduling.urls")),
    path("therapist/", include("progress.urls")),
    path("healthz", views.healthz, name="healthz"),
]
