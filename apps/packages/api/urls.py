from django.urls import path

from . import views

# /api/packages/, /api/packages/evaluate/ and /api/packages/{scope}/{id}/ take submissions too, so they
# are routed by apps.submissions.api.urls (its views extend the read views here).
urlpatterns = [
    path(
        "packages/<str:scope>/<int:identifier>/<int:revision>/",
        views.RevisionDetail.as_view(),
        name="packages-api-revision",
    ),
]
