from django.urls import path

from . import views

app_name = "cruises"
urlpatterns = [
    path("", views.cruise_list, name="list"),
    path("vessels/", views.vessel_list, name="vessels"),
    path("new/", views.cruise_create, name="create"),
    path("import/", views.cruise_import, name="import"),
    path("schema/sailing-orders.xsd", views.schema, name="schema"),
    path("schema/sailing-orders-example.xml", views.sailing_orders_example, name="example"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept-invitation"),
    path("<int:pk>/", views.cruise_detail, name="detail"),
    path("<int:pk>/edit/", views.cruise_edit, name="edit"),
    path("<int:pk>/sailing-orders.xml", views.sailing_orders_xml, name="xml"),
    path("<int:pk>/report/", views.operations_report, name="report"),
    path("<int:pk>/report.pdf", views.operations_report_pdf, name="report_pdf"),
    path("<int:pk>/people/", views.designate, name="designate"),
    path("<int:pk>/packages/", views.link_package, name="link-package"),
    path("<int:pk>/files/<int:file_pk>/<str:filename>", views.file_download, name="file"),
]
