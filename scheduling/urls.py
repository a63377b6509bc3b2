from django.urls import path

from scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("", views.week, name="week"),
    path("before-your-first-group/", views.preparation, name="preparation"),
    path("feed/rotate/", views.rotate_feed, name="rotate_feed"),
    path("language/", views.language, name="language"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
]
