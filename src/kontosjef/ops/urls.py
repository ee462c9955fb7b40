from django.urls import path

from kontosjef.ops import views

urlpatterns = [
    path("status/", views.status, name="ops_status"),
]
