from django.urls import path

from apps.publishing import urls as _publishing_urls  # noqa: F401  (registers the "scope" converter)

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.root, name="root"),
    path("stac.parquet", views.stac_parquet, name="stac-parquet"),
    path("manifests/<path:path>", views.manifest, name="manifest"),
    path("collections", views.collections, name="collections"),
    path("collections/<scope:scope>", views.collection, name="collection"),
    path("collections/<scope:scope>/items", views.collection_items, name="items"),
    path("collections/<scope:scope>/items/<str:item_id>", views.item, name="item"),
    path(
        "versions/<scope:scope>/<int:identifier>/<int:number>/mirrors",
        views.version_mirrors,
        name="version-mirrors",
    ),
    path("versions/<scope:scope>/<int:identifier>/<int:number>/deposit", views.deposit, name="deposit"),
    path("mirrors/<int:pk>/", views.mirror_detail, name="mirror"),
    path("mirrors/<int:pk>/check", views.mirror_check, name="mirror-check"),
    path("local-mirror/<path:path>", views.local_mirror, name="local-mirror"),
]
