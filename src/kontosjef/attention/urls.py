from django.urls import path

from kontosjef.attention import views

urlpatterns = [
    path("inbox/", views.inbox, name="attention_inbox"),
    path("inbox/<int:item_id>/", views.item_detail, name="attention_item"),
    path("inbox/<int:item_id>/acknowledge/", views.acknowledge, name="attention_acknowledge"),
    path("inbox/<int:item_id>/start/", views.start, name="attention_start"),
    path("inbox/<int:item_id>/dismiss/", views.dismiss, name="attention_dismiss"),
    path("inbox/<int:item_id>/assign/", views.assign, name="attention_assign"),
    path("inbox/<int:item_id>/resolve/", views.resolve, name="attention_resolve"),
    path("inbox/<int:item_id>/snooze/", views.snooze, name="attention_snooze"),
    path("inbox/<int:item_id>/unsnooze/", views.unsnooze, name="attention_unsnooze"),
    path("inbox/<int:item_id>/comment/", views.comment, name="attention_comment"),
]
