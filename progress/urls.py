from django.urls import path

from progress import views

app_name = "therapist"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("notes/overdue/", views.overdue_notes, name="overdue_notes"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/held/", views.session_held, name="session_held"),
    path("sessions/<int:pk>/sign-in-sheet/", views.sign_in_sheet, name="sign_in_sheet"),
    path("sessions/<int:pk>/topic/", views.session_topic, name="session_topic"),
    path("sessions/<int:pk>/note/", views.note, name="note"),
    path("sessions/<int:pk>/note/sign/", views.note_sign, name="note_sign"),
    path("sessions/<int:pk>/note/addenda/", views.note_addendum, name="note_addendum"),
    path("groups/<int:pk>/", views.group_detail, name="group"),
    path("alerts/<int:pk>/", views.alert_follow_up, name="alert"),
    path("clients/<int:pk>/plan/", views.client_plan, name="plan"),
    path("clients/<int:pk>/progress/", views.client_progress, name="progress"),
    path("clients/<int:pk>/discharge/", views.discharge_summary, name="discharge"),
    path("clients/<int:pk>/discharge/sign/", views.discharge_sign, name="discharge_sign"),
    path("clients/<int:pk>/plan/start/", views.plan_start, name="plan_start"),
    path("clients/<int:pk>/plan/goals/", views.plan_goal_add, name="plan_goal_add"),
    path("clients/<int:pk>/plan/group-kinds/", views.plan_group_kinds, name="plan_group_kinds"),
    path("clients/<int:pk>/plan/reviews/", views.plan_review, name="plan_review"),
    path("goals/<int:pk>/", views.goal_edit, name="goal"),
    path("goals/<int:pk>/status/", views.goal_status, name="goal_status"),
]
