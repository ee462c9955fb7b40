from django.urls import URLPattern, URLResolver, path

from kontosjef.cases import views
from kontosjef.cases.forms import FORMS

urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("accounts/<int:account_id>/handling/", views.account_handling, name="account_handling"),
    path("cases/<int:case_id>/clocks/", views.case_clocks, name="case_clocks"),
    *(
        path(
            f"cases/<int:case_id>/{action}/",
            views.case_act,
            {"action": action},
            name=f"case_{action}",
        )
        for action in FORMS
    ),
]
