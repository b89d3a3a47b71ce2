"""The site's URLs: the admin, the machines' pages, then each app's own."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from clinic import views

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("", include("clinic.urls")),
    path("", include("articles.urls")),
    path("", include("booking.urls")),
    path("", include("booking.waitlist.urls")),
    path("", include("booking.intake.urls")),
]

handler500 = "clinic.views.server_error"
