from django.urls import path

from . import views

app_name = "eventlogs"
urlpatterns = [
    path("<int:cruise_pk>/", views.log_page, name="log"),
    path("<int:cruise_pk>/open/", views.open_log, name="open"),
    path("<int:cruise_pk>/close/", views.close_log, name="close"),
    path("<int:cruise_pk>/position/", views.ship_position, name="position"),
]
