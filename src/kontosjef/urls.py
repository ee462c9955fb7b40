from django.contrib import admin
from django.urls import include, path

from kontosjef.api.api import urls as api_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include((api_urls(), "ninja"), namespace="api-v1")),
    path("", include("kontosjef.ops.urls")),
    path("", include("kontosjef.web.urls")),
    path("", include("kontosjef.accounts.urls")),
    path("", include("kontosjef.cases.urls")),
    path("", include("kontosjef.attention.urls")),
    path("configuration/", include("kontosjef.configuration.urls")),
]
