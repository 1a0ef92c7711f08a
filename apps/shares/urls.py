from django.urls import path

from . import views

app_name = "shares"
urlpatterns = [
    path("share/", views.share, name="share"),
    path("share/drafts/<int:pk>/", views.draft, name="draft"),
    path("share/<str:short_id>/", views.detail, name="detail"),
    path("share/<str:short_id>/edit/", views.edit, name="edit"),
    path("share/<str:short_id>/version/", views.new_version, name="new-version"),
    path("id/<str:short_id>", views.referral, name="referral"),
]
