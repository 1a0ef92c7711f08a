from django.urls import path

from . import views

urlpatterns = [
    path("publishing/dois/", views.DoiQueueApi.as_view(), name="api-doi-queue"),
    path("publishing/dois/<int:pk>/retry/", views.DoiRetryApi.as_view(), name="api-doi-retry"),
    path(
        "publishing/datasets/<str:scope>/<int:identifier>/<int:number>/dois/",
        views.VersionDoiApi.as_view(),
        name="api-version-dois",
    ),
    path(
        "publishing/datasets/<str:scope>/<int:identifier>/<int:number>/withdraw/",
        views.WithdrawApi.as_view(),
        name="api-withdraw",
    ),
    path(
        "publishing/datasets/<str:scope>/<int:identifier>/<int:number>/taint/",
        views.TaintApi.as_view(),
        name="api-taint",
    ),
]
