from django.urls import path, register_converter

from .landing import views


class ScopeConverter:
    regex = r"[A-Za-z0-9_\-]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ScopeConverter, "scope")

app_name = "publishing"
urlpatterns = [
    path("oai", views.oai_endpoint, name="oai"),
    path("oai/schemas/<str:name>", views.oai_schema, name="oai-schema"),
    path("dataset/<scope:scope>/<int:identifier>/", views.dataset_latest, name="dataset"),
    path("dataset/<scope:scope>/<int:identifier>/<int:number>/", views.dataset_version, name="version"),
    path("dataset/<scope:scope>/<int:identifier>/<int:number>/export/<str:fmt>", views.export, name="export"),
    path(
        "dataset/<scope:scope>/<int:identifier>/<int:number>/files/<int:entity_id>",
        views.download,
        name="download",
    ),
    path("dataset/<scope:scope>/<int:identifier>/<int:number>/withdraw", views.withdraw, name="withdraw"),
    path("dataset/<scope:scope>/<int:identifier>/<int:number>/correct", views.correct, name="correct"),
    path("doi/<path:doi>", views.resolve_doi, name="resolve-doi"),
    path("dois/", views.doi_queue, name="doi-queue"),
    path("dois/<int:pk>/", views.doi_detail, name="doi-detail"),
    path("dois/<int:pk>/retry", views.doi_retry, name="doi-retry"),
]
