from django.urls import path

from . import views

app_name = "clinic"

urlpatterns = [
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
