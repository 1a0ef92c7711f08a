from django.urls import path

from . import pasta

# PASTA-compatible REST paths under /package/ (see apps.packages.pasta).
app_name = "pasta"
urlpatterns = [
    path("eml", pasta.CreatePackage.as_view(), name="create"),
    path("eml/<str:scope>", pasta.PackageScope.as_view(), name="scope"),
    path("eml/<str:scope>/<int:identifier>", pasta.PackageIdentifier.as_view(), name="package"),
    path(
        "eml/<str:scope>/<int:identifier>/<int:revision>", pasta.RevisionResources.as_view(), name="revision"
    ),
    path(
        "metadata/eml/<str:scope>/<int:identifier>/<int:revision>", pasta.Metadata.as_view(), name="metadata"
    ),
    path(
        "data/eml/<str:scope>/<int:identifier>/<int:revision>/<str:entity_id>",
        pasta.Data.as_view(),
        name="data",
    ),
    path("report/eml/<str:scope>/<int:identifier>/<int:revision>", pasta.Report.as_view(), name="report"),
    path("error/eml/<str:transaction>", pasta.Error.as_view(), name="error"),
    path("evaluate/eml", pasta.Evaluate.as_view(), name="evaluate"),
    path("evaluate/report/eml/<str:transaction>", pasta.EvaluateReport.as_view(), name="evaluate-report"),
]
