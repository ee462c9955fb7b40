from django.urls import path

from kontosjef.accounts import views

urlpatterns = [
    path("", views.portfolio, name="home"),
]
