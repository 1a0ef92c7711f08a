from django.urls import path

from apps.packages import pasta as read

from . import pasta

# PASTA-compatible REST paths under /package/: the read side is apps.packages.pasta, the ingest side
# (create, update, evaluate, transactions) apps.submissions.pasta.
app_name = "pasta"
urlpatterns = [
    path("eml", pasta.CreatePackage.as_view(), name="create"),
    path("eml/<str:scope>", read.PackageScope.as_view(), name="scope"),
    path("eml/<str:scope>/<int:identifier>", pasta.PackageIdentifier.as_view(), name="package"),
    path(
        "eml/<str:scope>/<int:identifier>/<int:revision>", read.RevisionResources.as_view(), name="revision"
    ),
    path(
        "metadata/eml/<str:scope>/<int:identifier>/<int:revision>", read.Metadata.as_view(), name="metadata"
    ),
    path(
        "data/eml/<str:scope>/<int:identifier>/<int:revision>/<str:entity_id>",
        read.Data.as_view(),
        name="data",
    ),
    path("report/eml/<str:scope>/<int:identifier>/<int:revision>", read.Report.as_view(), name="report"),
    path("error/eml/<str:transaction>", pasta.Error.as_view(), name="error"),
    path("evaluate/eml", pasta.Evaluate.as_view(), name="evaluate"),
    path("evaluate/report/eml/<str:transaction>", pasta.EvaluateReport.as_view(), name="evaluate-report"),
]
