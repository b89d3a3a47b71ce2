from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views

clinic_patterns = [
    path("team/", views.TeamView.as_view(), name="team"),
    path("team/<slug:slug>/", views.PractitionerView.as_view(), name="practitioner"),
    path("contact/", views.ContactView.as_view(), name="contact"),
    path("privacy/", views.PrivacyView.as_view(), name="privacy"),
    path(
        "patients/first-visit/",
        views.PatientPageView.as_view(template_name="clinic/patients/first_visit.html"),
        name="first_visit",
    ),
    path(
        "patients/accessibility/",
        views.PatientPageView.as_view(template_name="clinic/patients/accessibility.html"),
        name="accessibility",
    ),
    path(
        "patients/telehealth/",
        views.PatientPageView.as_view(template_name="clinic/patients/telehealth.html"),
        name="telehealth",
    ),
]

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("", include((clinic_patterns, "clinic"))),
    path("", include("articles.urls")),
    path("", include("booking.urls")),
    path("", include("booking.intake.urls")),
]

handler500 = "clinic.views.server_error"
