from django.urls import path

from . import views

app_name = "nodes"
urlpatterns = [
    path("nodes/", views.index, name="index"),
    path("nodes/mine/", views.mine, name="mine"),
    path("nodes/<int:pk>/revoke", views.revoke, name="revoke"),
    path("swarm/health.parquet", views.health_parquet, name="health-parquet"),
]
