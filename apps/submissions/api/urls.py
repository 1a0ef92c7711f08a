from django.urls import path

from . import packages, views

urlpatterns = [
    path("submissions/", views.SubmissionList.as_view(), name="submissions-api-list"),
    path("submissions/<str:transaction>/", views.SubmissionDetail.as_view(), name="submissions-api-detail"),
    # The package API's ingest side (the read side of the same URLs is apps.packages.api.views).
    path("packages/", packages.PackageList.as_view(), name="packages-api-list"),
    path("packages/evaluate/", packages.Evaluate.as_view(), name="packages-api-evaluate"),
    path(
        "packages/<str:scope>/<int:identifier>/",
        packages.PackageRevisions.as_view(),
        name="packages-api-package",
    ),
    path(
        "submissions/<str:transaction>/retry/", views.SubmissionRetry.as_view(), name="submissions-api-retry"
    ),
]
