from django.urls import URLPattern, URLResolver, path

from kontosjef.configuration import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="configuration"),
    path("calendars/", views.calendars, name="configuration_calendars"),
    path("calendars/<int:calendar_id>/", views.calendar_detail, name="configuration_calendar"),
    path(
        "calendars/<int:calendar_id>/extend/",
        views.calendar_extend,
        name="configuration_calendar_extend",
    ),
    path("sla-policies/", views.policies, name="configuration_policies"),
    path("sla-policies/<int:policy_id>/", views.policy_detail, name="configuration_policy"),
    path("expectations/", views.expectations, name="configuration_expectations"),
    path(
        "expectations/<int:expectation_id>/",
        views.expectation_edit,
        name="configuration_expectation",
    ),
    path("notifications/", views.notifications, name="configuration_notifications"),
]
