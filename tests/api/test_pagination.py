"""Cursor pagination: every row once, in order, however the list changes between pages."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from tests.api.conftest import error_code
from tests.factories import T0, make_account, make_case


def walk(client, path: str, **params) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get(path, **query).json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_it_walks_every_case_once_in_order(api_as, mona, acme):
    # Equal opening times on purpose: the id breaks the tie.
    cases = [make_case(account=acme, by=mona, now=T0 + timedelta(hours=i // 2)) for i in range(7)]
    pages = walk(api_as(mona), "/cases", limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    expected = [c.pk for c in sorted(cases, key=lambda c: (c.opened_at, c.pk), reverse=True)]
    assert [pk for page in pages for pk in page] == expected


def test_it_walks_accounts_by_name_with_the_same_names(api_as, mona):
    accounts = [make_account(name=name, by=mona) for name in ["B", "A", "B", "C", "A"]]
    pages = walk(api_as(mona), "/accounts", limit=2)
    expected = [a.pk for a in sorted(accounts, key=lambda a: (a.name, a.pk))]
    assert [pk for page in pages for pk in page] == expected


def test_it_neither_repeats_nor_skips_when_rows_arrive_between_pages(api_as, mona, acme):
    for i in range(4):
        make_case(account=acme, by=mona, now=T0 + timedelta(hours=i))
    client = api_as(mona)
    first = client.get("/cases", sort="opened_at", limit=2).json()
    make_case(account=acme, by=mona, now=T0 - timedelta(days=1))  # before the cursor
    newest = make_case(account=acme, by=mona, now=T0 + timedelta(days=1))
    rest = client.get("/cases", sort="opened_at", limit=10, cursor=first["next_cursor"]).json()
    seen = [item["id"] for item in first["items"] + rest["items"]]
    assert len(seen) == len(set(seen)) == 5
    assert seen[-1] == newest.pk


def test_it_refuses_a_cursor_of_another_order(api_as, mona, acme):
    for i in range(3):
        make_case(account=acme, by=mona, now=T0 + timedelta(hours=i))
    client = api_as(mona)
    cursor = client.get("/cases", limit=1).json()["next_cursor"]
    response = client.get("/cases", sort="last_event_at", cursor=cursor)
    assert response.status_code == 400
    assert error_code(response) == "bad_request"


def encode(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def test_it_refuses_a_forged_cursor(api_as, mona):
    client = api_as(mona)
    forged = [
        "not base64!",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps(["-opened_at", "yesterday", 1]).encode()).decode(),
        base64.urlsafe_b64encode(
            json.dumps(["-opened_at", "2026-01-05T09:00", 1]).encode()
        ).decode(),
        base64.urlsafe_b64encode(
            json.dumps(["-opened_at", "2026-01-05T09:00Z", 2**70]).encode()
        ).decode(),
    ]
    for cursor in forged:
        response = client.get("/cases", cursor=cursor)
        assert response.status_code == 400, cursor


def test_it_caps_the_page_size(api_as, mona):
    client = api_as(mona)
    assert client.get("/cases", limit=200).status_code == 200
    response = client.get("/cases", limit=201)
    assert response.status_code == 422
    assert "limit" in response.json()["error"]["fields"]


def test_it_pages_past_the_longest_names(api_as, mona):
    for suffix in "abc":
        # 200 characters, as long as an account name may be, each 4 bytes in UTF-8
        make_account(name="😀" * 199 + suffix, by=mona)
    pages = walk(api_as(mona), "/accounts", limit=1)
    assert [len(page) for page in pages] == [1, 1, 1]
