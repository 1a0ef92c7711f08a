from django.urls import path, re_path

from . import views

app_name = "swarm"
urlpatterns = [
    path("dataset/<str:scope>/<int:identifier>/<int:number>/torrent", views.version_torrent, name="torrent"),
    path("dataset/<str:scope>/<int:identifier>/latest/torrent", views.latest_torrent, name="latest-torrent"),
    # lowercase hex only: one URL per torrent (the catalog and health.parquet write lowercase)
    re_path(
        r"^swarm/torrents/(?P<infohash>[0-9a-f]{40})\.torrent$", views.torrent_by_infohash, name="by-infohash"
    ),
]
