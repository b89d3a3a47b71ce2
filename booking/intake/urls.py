from django.urls import path

from . import views

app_name = "intake"

urlpatterns = [
    path("forms/<str:token>/", views.gate_view, name="gate"),
    path("forms/<str:token>/answers/", views.fill_view, name="fill"),
    path("forms/<str:token>/copy/", views.copy_view, name="copy"),
    path("health-records/<uuid:public_id>/", views.record_view, name="record"),
]
