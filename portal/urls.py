from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from apps.search.views import robots_txt

from . import views

admin.site.site_header = "Quayside administration"

# Each app owns its web URLs (``apps.X.urls``) and its API URLs (``apps.X.api.urls``, under /api/).
API_APPS = [
    "accounts",
    "audit",
    "packages",
    "submissions",
    "cruises",
    "eventlogs",
    "reviews",
    "holds",
    "publishing",
    "search",
    "uploads",
    "deliveries",
    "distributions",
    "federation",
    "nodes",
]

api_urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    *[path("", include(f"apps.{name}.api.urls")) for name in API_APPS],
]
urlpatterns = [
    path("", views.home, name="home"),
    path("me/", views.me, name="me"),
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", robots_txt, name="robots"),
    # The API first: science software posts event-log entries many a second, and every request walks
    # this list until it matches.
    path("api/", include(api_urlpatterns)),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("profile/", include("apps.accounts.urls")),
    path("audit/", include("apps.audit.urls")),
    path("storage/", include("apps.storage.urls")),
    path("packages/", include("apps.packages.urls")),
    path("package/", include("apps.submissions.pasta_urls")),  # PASTA-compatible REST paths
    path("submissions/", include("apps.submissions.urls")),
    path("cruises/", include("apps.cruises.urls")),
    path("eventlogs/", include("apps.eventlogs.urls")),
    path("reviews/", include("apps.reviews.urls")),
    path("holds/", include("apps.holds.urls")),
    # Before publishing: its /dataset/…/latest/<path> would take "latest/torrent" for a file.
    path("", include("apps.swarm.urls")),  # /dataset/…/torrent, /dataset/…/latest/torrent
    path("", include("apps.publishing.urls")),  # /oai, /doi/…, landing pages
    path("search/", include("apps.search.urls")),
    path("", include("apps.artifacts.urls")),  # /dataset/…/artifacts/<id>: Parquet alternates, manifests
    path("uploads/", include("apps.uploads.urls")),
    path("navigation/", include("apps.navigation.urls")),
    path("deliveries/", include("apps.deliveries.urls")),
    path("distributions/", include("apps.distributions.urls")),
    path("catalog/", include("apps.catalog.urls")),
    path("", include("apps.federation.urls")),  # /harvest/…, /remote/…
    path("ogcapi/", include("apps.ogcapi.urls")),
    path("gazetteer/", include("apps.gazetteer.urls")),
    path("", include("apps.shares.urls")),
    path(
        "", include("apps.nodes.urls")
    ),  # /nodes/…, /swarm/health.parquet  # /share/…, and the referral URIs /id/<short id>
]

handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
handler500 = "portal.views.error_500"
