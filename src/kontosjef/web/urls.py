from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from kontosjef.web import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # A set-password link from an administrator (People page): Django's reset views, so the
    # token is single-use and expires after PASSWORD_RESET_TIMEOUT.
    path(
        "password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/password_set.html",
            success_url=reverse_lazy("password_set_done"),
        ),
        name="password_set",
    ),
    path(
        "password/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_set_done.html"
        ),
        name="password_set_done",
    ),
    path("tokens/", views.api_tokens, name="api_tokens"),
    path("tokens/<int:token_id>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    path("search/", views.search, name="search"),
]
