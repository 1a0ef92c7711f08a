from django.urls import path

from . import views

app_name = "swarm"
urlpatterns = [
    path("dataset/<str:scope>/<int:identifier>/<int:number>/torrent", views.version_torrent, name="torrent"),
    path("dataset/<str:scope>/<int:identifier>/latest/torrent", views.latest_torrent, name="latest-torrent"),
]
