from django.urls import path

from progress import views

app_name = "therapist"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
