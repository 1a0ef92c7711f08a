from django.urls import path

from . import views

app_name = "deliveries"
urlpatterns = [
    path("feed.atom", views.feed, name="feed"),
    path("operators/<int:org_pk>/feed.atom", views.feed, name="operator-feed"),
    path("cruise/<int:cruise_pk>/new/", views.register, name="register"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/changes/", views.changes, name="changes"),
    path("<int:pk>/inventory.csv", views.inventory_csv, name="csv"),
    path("<int:pk>/inventory.hashdeep.txt", views.inventory_hashdeep, name="hashdeep"),
    path("<int:pk>/flags/", views.raise_flag, name="flag"),
    path("flags/<int:pk>/answer/", views.answer_flag, name="flag-answer"),
    path("flags/<int:pk>/close/", views.close_flag, name="flag-close"),
]
