from django.urls import path

from . import views
from .visits import views as visits

app_name = "booking"

urlpatterns = [
    path("book/", views.request_view, name="request"),
    path("book/times/", views.times_view, name="times"),
    path("book/manage/<str:token>/", views.manage_view, name="manage"),
    path("book/manage/<str:token>/cancel/", views.cancel_view, name="cancel"),
    path("book/manage/<str:token>/move/", views.move_view, name="move"),
    path("book/manage/<str:token>/calendar.ics", views.calendar_view, name="calendar"),
    path("visits/", visits.home_view, name="visits"),
    path("visits/code/", visits.code_view, name="visits_code"),
    path("visits/sign-out/", visits.sign_out_view, name="visits_sign_out"),
    path("visits/new-person/", visits.book_new_person_view, name="visits_book_new_person"),
    path("visits/book/", visits.book_for_view, name="visits_book_for"),
    path("visits/<str:reference>/cancel/", visits.cancel_view, name="visits_cancel"),
    path("visits/<str:reference>/move/", visits.move_view, name="visits_move"),
    path("visits/<str:reference>/again/", visits.book_again_view, name="visits_book_again"),
    path("patients/fees-and-insurance/", views.FeesView.as_view(), name="fees"),
    path("patients/cancellation-policy/", views.CancellationPolicyView.as_view(), name="cancellation_policy"),
]
