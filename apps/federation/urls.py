from django.urls import path

from . import views

app_name = "federation"
urlpatterns = [
    path("harvest/", views.sources, name="sources"),
    path("harvest/<int:pk>/", views.source, name="source"),
    path("remote/<int:pk>/", views.remote_record, name="remote"),
    path("remote/<int:pk>/mirror", views.mirror, name="mirror"),
]
