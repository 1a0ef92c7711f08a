from django.urls import path

from . import views

app_name = "reviews"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.review_detail, name="detail"),
    path("<int:pk>/amend/", views.amend, name="amend"),
    path("<int:pk>/decide/", views.decide, name="decide"),
    path("<int:pk>/reopen/", views.reopen, name="reopen"),
    path("cruise/<int:cruise_pk>/request/", views.request_cruise_review, name="request-cruise"),
]
