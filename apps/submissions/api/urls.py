from django.urls import path

from . import views

urlpatterns = [
    path("submissions/", views.SubmissionList.as_view(), name="submissions-api-list"),
    path("submissions/<str:transaction>/", views.SubmissionDetail.as_view(), name="submissions-api-detail"),
    path(
        "submissions/<str:transaction>/retry/", views.SubmissionRetry.as_view(), name="submissions-api-retry"
    ),
]
