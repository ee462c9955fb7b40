from django.urls import URLPattern, URLResolver, path

from kontosjef.configuration import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="configuration"),
    path("calendars/", views.calendars, name="configuration_calendars"),
    path("calendars/new/", views.calendar_new, name="configuration_calendar_new"),
    path("calendars/<int:calendar_id>/", views.calendar_detail, name="configuration_calendar"),
    path(
        "calendars/<int:calendar_id>/name/",
        views.calendar_rename_view,
        name="configuration_calendar_rename",
    ),
    path(
        "calendars/<int:calendar_id>/extend/",
        views.calendar_extend,
        name="configuration_calendar_extend",
    ),
    path("sla-policies/", views.policies, name="configuration_policies"),
    path("sla-policies/new/", views.policy_new, name="configuration_policy_new"),
    path("sla-policies/<int:policy_id>/", views.policy_detail, name="configuration_policy"),
    path(
        "sla-policies/<int:policy_id>/name/",
        views.policy_rename_view,
        name="configuration_policy_rename",
    ),
    path("tiers/", views.tiers, name="configuration_tiers"),
    path("tiers/<str:tier>/", views.tier_edit, name="configuration_tier"),
    path("accounts/<int:account_id>/sla/", views.account_sla, name="configuration_account_sla"),
    path("expectations/", views.expectations, name="configuration_expectations"),
    path(
        "expectations/<int:expectation_id>/",
        views.expectation_edit,
        name="configuration_expectation",
    ),
    path("notifications/", views.notifications, name="configuration_notifications"),
    path("people/", views.people, name="configuration_people"),
    path("people/new/", views.person_new, name="configuration_person_new"),
    path("people/<int:user_id>/", views.person_detail, name="configuration_person"),
    path("people/<int:user_id>/active/", views.person_active, name="configuration_person_active"),
    path(
        "people/<int:user_id>/password-link/",
        views.person_password_link,
        name="configuration_person_password_link",
    ),
    path("departments/", views.departments, name="configuration_departments"),
    path(
        "departments/<int:department_id>/",
        views.department_detail,
        name="configuration_department",
    ),
]
