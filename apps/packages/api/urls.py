from django.urls import path

from . import views

urlpatterns = [
    path("packages/", views.PackageList.as_view(), name="packages-api-list"),
    path("packages/evaluate/", views.Evaluate.as_view(), name="packages-api-evaluate"),
    path(
        "packages/<str:scope>/<int:identifier>/",
        views.PackageRevisions.as_view(),
        name="packages-api-package",
    ),
    path(
        "packages/<str:scope>/<int:identifier>/<int:revision>/",
        views.RevisionDetail.as_view(),
        name="packages-api-revision",
    ),
]
