from django.urls import path

from . import views

app_name = "holds"
urlpatterns = [
    path("", views.hold_list, name="list"),
    path("cruise/<int:cruise_pk>/new/", views.assert_hold, name="assert"),
    path("<int:pk>/lift/", views.lift_hold, name="lift"),
]
