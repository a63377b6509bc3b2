from django.urls import path

from progress import views

app_name = "therapist"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("notes/overdue/", views.overdue_notes, name="overdue_notes"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/held/", views.session_held, name="session_held"),
    path("sessions/<int:pk>/note/", views.note, name="note"),
    path("sessions/<int:pk>/note/sign/", views.note_sign, name="note_sign"),
    path("sessions/<int:pk>/note/addenda/", views.note_addendum, name="note_addendum"),
    path("groups/<int:pk>/", views.group_detail, name="group"),
    path("alerts/<int:pk>/", views.alert_follow_up, name="alert"),
]
