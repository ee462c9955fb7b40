"""The admin lists the scheduled jobs and heartbeats, read-only: only the processes write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from kontosjef.ops.models import Heartbeat, ScheduledJob
from kontosjef.ops.services import heartbeat_beat, schedule_sync

T0 = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)


@pytest.fixture
def rows(db, schedule):
    schedule_sync(jobs=schedule, now=T0)
    heartbeat_beat(
        kind="worker", host="app1", pid=7, started_at=T0, interval=timedelta(seconds=10), now=T0
    )


@pytest.mark.parametrize("model", [ScheduledJob, Heartbeat])
def test_it_lists_and_shows_each_model_read_only(client, adam, rows, model):
    client.force_login(adam)
    opts = model._meta
    listing = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert listing.status_code == 200
    obj = model.objects.first()
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {}).status_code == 403
