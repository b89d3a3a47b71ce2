from django.contrib.sitemaps.views import sitemap
from django.urls import path

from clinic.cache_headers import public_page

from . import views
from .feeds import ArticleFeed
from .sitemaps import sitemaps

app_name = "articles"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("treatments/", views.TreatmentListView.as_view(), name="treatment_list"),
    path("treatments/<slug:slug>/", views.TreatmentDetailView.as_view(), name="treatment_detail"),
    path("conditions/<slug:slug>/", views.ConditionDetailView.as_view(), name="condition_detail"),
    path("articles/", views.ArticleListView.as_view(), name="article_list"),
    # Before the slug pattern: "feed" is a reserved slug.
    path("articles/feed/", public_page(ArticleFeed()), name="feed"),
    path("articles/<slug:slug>/", views.ArticleDetailView.as_view(), name="article_detail"),
    path("sitemap.xml", public_page(sitemap), {"sitemaps": sitemaps}, name="sitemap"),
]
