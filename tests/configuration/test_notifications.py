"""The notification page: everyone's own setting, and the site's configuration for managers."""

from __future__ import annotations

from django.urls import reverse

from kontosjef.audit.models import AuditEntry


def test_it_changes_the_users_own_notification_setting(client, alice):
    client.force_login(alice)
    url = reverse("configuration_notifications")
    assert client.get(url).context["form"]["notify"].value() == "immediate"
    response = client.post(url, {"notify": "digest"}, follow=True)
    assert "Your notification setting is now: Daily digest." in response.content.decode()
    alice.refresh_from_db()
    assert alice.notify == "digest"
    entry = AuditEntry.objects.get(action="user.set_notification_preference")
    assert (entry.actor, entry.before, entry.after) == (
        alice,
        {"notify": "immediate"},
        {"notify": "digest"},
    )


def test_it_shows_what_is_wrong_and_writes_nothing(client, alice):
    client.force_login(alice)
    response = client.post(reverse("configuration_notifications"), {"notify": "pigeon"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    alice.refresh_from_db()
    assert alice.notify == "immediate"
    assert not AuditEntry.objects.filter(action="user.set_notification_preference").exists()


def test_it_shows_managers_the_sites_configuration_without_secrets(client, mona, settings):
    settings.DEFAULT_FROM_EMAIL = "kontosjef@fjordlys.example"
    settings.KONTOSJEF_NOTIFY_WEBHOOK_URL = "https://hooks.example.com/T0123/secret-path"
    settings.KONTOSJEF_NOTIFY_WEBHOOK_SECRET = "s3cr3t"  # noqa: S105
    settings.KONTOSJEF_DIGEST_HOUR = 6
    client.force_login(mona)
    html = client.get(reverse("configuration_notifications")).content.decode()
    assert "kontosjef@fjordlys.example" in html
    assert "https://hooks.example.com" in html
    assert "secret-path" not in html and "s3cr3t" not in html
    assert "from 6:00" in html


def test_it_says_when_the_webhook_and_sender_are_not_configured(client, adam, settings):
    settings.DEFAULT_FROM_EMAIL = "kontosjef@localhost"
    settings.KONTOSJEF_NOTIFY_WEBHOOK_URL = ""
    client.force_login(adam)
    html = client.get(reverse("configuration_notifications")).content.decode()
    assert "not configured (the default)" in html
    assert html.count("not configured") == 2
