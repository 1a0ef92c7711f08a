from django.urls import path

from . import views

app_name = "nodes"
urlpatterns = [
    path("swarm/health.parquet", views.health_parquet, name="health-parquet"),
]
