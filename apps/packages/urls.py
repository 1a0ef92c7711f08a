from django.urls import path

from . import views

app_name = "packages"
urlpatterns = [
    path("", views.package_list, name="list"),
    path("<str:scope>/<int:identifier>/", views.package_detail, name="package"),
    path("<str:scope>/<int:identifier>/<int:number>/", views.revision_detail, name="revision"),
    path("<str:scope>/<int:identifier>/<int:number>/report/", views.revision_report, name="report"),
]
