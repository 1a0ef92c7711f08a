from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.Me.as_view(), name="api-me"),
    path("tokens/", views.Tokens.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>/revoke/", views.TokenRevoke.as_view(), name="api-token-revoke"),
]
