from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.profile, name="profile"),
    path("tokens/", views.token_create, name="token-create"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("submitter/", views.submitter_request, name="submitter-request"),
    path("submitter-requests/", views.submitter_requests, name="submitter-requests"),
    path(
        "submitter-requests/<int:pk>/decide", views.submitter_request_decide, name="submitter-request-decide"
    ),
]
