from django.urls import path, register_converter

from .doi import views as doi_views
from .landing import views
from .oai import views as oai_views


class ScopeConverter:
    regex = r"[A-Za-z0-9_\-]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ScopeConverter, "scope")


class TreeConverter:
    """A version's file-tree name, ``scope.identifier.revision`` (never "export" or "files")."""

    regex = r"[A-Za-z0-9_\-]+\.[0-9]+\.[0-9]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(TreeConverter, "tree")

app_name = "publishing"
urlpatterns = [
    path("oai", oai_views.oai_endpoint, name="oai"),
    path("oai/schemas/<str:name>", oai_views.oai_schema, name="oai-schema"),
    path("dataset/<scope:scope>/<int:identifier>/", views.dataset_latest, name="dataset"),
    path("dataset/<scope:scope>/<int:identifier>/<int:number>/", views.dataset_version, name="version"),
    path("dataset/<scope:scope>/<int:identifier>/<int:number>/export/<str:fmt>", views.export, name="export"),
    path(
        "dataset/<scope:scope>/<int:identifier>/<int:number>/files/<int:entity_id>",
        views.download,
        name="download",
    ),
    path(
        "dataset/<scope:scope>/<int:identifier>/<int:number>/files.zip",
        views.download_all,
        name="download-all",
    ),
    # Files by name, under a path that never changes (BitTorrent web seeds: <base>/<tree>/<path>).
    path(
        "dataset/<scope:scope>/<int:identifier>/<int:number>/<tree:tree>/<path:path>",
        views.named_file,
        name="named-file",
    ),
    path("dataset/<scope:scope>/<int:identifier>/latest/<path:path>", views.latest_file, name="latest-file"),
    path("dataset/<scope:scope>/<int:identifier>/<int:number>/withdraw", views.withdraw, name="withdraw"),
    path("dataset/<scope:scope>/<int:identifier>/<int:number>/taint", views.taint, name="taint"),
    path("dataset/<scope:scope>/<int:identifier>/<int:number>/correct", views.correct, name="correct"),
    path("doi/<path:doi>", views.resolve_doi, name="resolve-doi"),
    path("dois/", doi_views.doi_queue, name="doi-queue"),
    path("dois/<int:pk>/", doi_views.doi_detail, name="doi-detail"),
    path("dois/<int:pk>/retry", doi_views.doi_retry, name="doi-retry"),
]
