from django.urls import path

from . import views

app_name = "waitlist"

urlpatterns = [
    path("book/waitlist/", views.join_view, name="join"),
    path("book/waitlist/thanks/", views.joined_view, name="joined"),
    path("book/waitlist/leave/<str:token>/", views.leave_view, name="leave"),
    path("book/waitlist/offer/<str:token>/", views.offer_view, name="offer"),
]
