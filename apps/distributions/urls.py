from django.urls import path

from . import views

app_name = "distributions"
urlpatterns = [
    path("profiles/", views.profile_list, name="profiles"),
    path("profiles/new/", views.profile_edit, name="profile-new"),
    path("profiles/<int:pk>/", views.profile_edit, name="profile-edit"),
    path("deliveries/<int:delivery_pk>/classify/", views.classify, name="classify"),
    path("deliveries/<int:delivery_pk>/deep-copy/", views.deep_copy, name="deep-copy"),
    path("deliveries/<int:delivery_pk>/deep-verify/", views.deep_verify, name="deep-verify"),
    path("deliveries/<int:delivery_pk>/restore/", views.restore_request, name="restore-request"),
    path("restores/<int:pk>/decide/", views.restore_decide, name="restore-decide"),
    path("datasets/<int:pk>/package/", views.package, name="package"),
    path("datasets/<int:pk>/accession/", views.accession, name="accession"),
    path("cruises/<int:cruise_pk>/doi/", views.cruise_doi, name="cruise-doi"),
    path("cruises/<int:cruise_pk>/bag.zip", views.bag_download, name="bag"),
]
