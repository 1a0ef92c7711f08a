from django.urls import path

from . import views

urlpatterns = [
    path("harvest-sources/", views.sources, name="api-harvest-sources"),
    path("harvest-sources/<int:pk>/", views.source, name="api-harvest-source"),
    path("remote/<int:pk>/", views.remote_record, name="api-remote-record"),
]
