from django.urls import path

from . import views

urlpatterns = [
    path("distributions/profiles/", views.profiles, name="api-distribution-profiles"),
    path("distributions/profiles/<int:pk>/", views.profile, name="api-distribution-profile"),
    path(
        "distributions/deliveries/<int:delivery_pk>/classification/",
        views.classification,
        name="api-distribution-classification",
    ),
    path(
        "distributions/deliveries/<int:delivery_pk>/restores/",
        views.restores,
        name="api-distribution-restores",
    ),
    path(
        "distributions/datasets/<str:scope>/<int:identifier>/accession/",
        views.accession,
        name="api-distribution-accession",
    ),
]
