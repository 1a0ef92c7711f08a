from django.urls import path  # noqa: F401

# PASTA-compatible REST paths under /package/ (see apps.packages.api.pasta).
app_name = "pasta"
urlpatterns: list = []
