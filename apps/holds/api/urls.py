from django.urls import path

from . import views

urlpatterns = [path("holds/", views.holds, name="api-holds")]
