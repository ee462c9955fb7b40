from django.urls import path

from kontosjef.accounts import views

urlpatterns = [
    path("", views.portfolio, name="home"),
    path("accounts/<int:account_id>/", views.account_detail, name="account_detail"),
]
