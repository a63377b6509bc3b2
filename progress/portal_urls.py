"""The client's check-ins and questionnaires, under /schedule/ beside their week (scheduling.urls)."""

from django.urls import path

from progress import measures, portal_views

app_name = "portal"

urlpatterns = [
    path("check-in/", portal_views.check_in, name="check_in"),
    path("questionnaires/phq-9/", portal_views.questionnaire, {"instrument": measures.PHQ9}, name="phq9"),
    path("questionnaires/gad-7/", portal_views.questionnaire, {"instrument": measures.GAD7}, name="gad7"),
    path("questionnaires/<int:pk>/", portal_views.questionnaire_done, name="questionnaire_done"),
    path("my-answers/", portal_views.history, name="history"),
    path("progress/", portal_views.my_progress, name="progress"),
]
