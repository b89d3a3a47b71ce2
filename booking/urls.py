from django.urls import path

from . import views

app_name = "booking"

urlpatterns = [
    path("book/", views.request_view, name="request"),
    path("book/times/", views.times_view, name="times"),
    path("book/manage/<str:token>/", views.manage_view, name="manage"),
    path("book/manage/<str:token>/cancel/", views.cancel_view, name="cancel"),
    path("book/manage/<str:token>/move/", views.move_view, name="move"),
    path("book/manage/<str:token>/calendar.ics", views.calendar_view, name="calendar"),
    path("patients/fees-and-insurance/", views.FeesView.as_view(), name="fees"),
    path("patients/cancellation-policy/", views.CancellationPolicyView.as_view(), name="cancellation_policy"),
]
