"""The Graph emulator behaves as Microsoft documents it, seen through the real msal and
httpx: discovery, the device-code and refresh grants, calendarView/delta with paging,
delta links and @removed, 410 for an expired link, If-Match and 412, throttling."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import msal

from connectors.microsoft.http import MsalHttp, verify

BERLIN = ZoneInfo("Europe/Berlin")
WEEKLY = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                      "firstDayOfWeek": "sunday"},
          "range": {"type": "numbered", "startDate": "2026-10-05", "numberOfOccurrences": 6,
                    "recurrenceTimeZone": "W. Europe Standard Time"}}


def app(graph, cache=None):
    # requests (msal's default client) lets REQUESTS_CA_BUNDLE override verify=, so the
    # emulator's CA goes in through cadenced's httpx client for msal.
    return msal.PublicClientApplication(
        graph.client_id, authority=graph.root + "common", instance_discovery=False,
        http_client=MsalHttp(timeout=5, ca_file=graph.ca_file), token_cache=cache)


def client(graph, token):
    return httpx.Client(base_url=graph.root + "v1.0/me/", verify=verify(graph.ca_file), timeout=5,
                        headers={"Authorization": f"Bearer {token}"})


def seeded(graph):
    return graph.add_event(subject="Ada / me", start=datetime(2026, 10, 5, 10, tzinfo=BERLIN),
                           minutes=30, attendees=[("ada@example.com", "accepted")],
                           recurrence=WEEKLY)


def window():
    return {"startDateTime": "2026-09-01T00:00:00Z", "endDateTime": "2026-12-31T00:00:00Z"}


def test_msal_signs_in_with_a_device_code_and_refreshes(graph):
    cache = msal.SerializableTokenCache()
    application = app(graph, cache)
    flow = application.initiate_device_flow(scopes=["Calendars.Read"])
    assert flow["user_code"] in flow["message"]
    graph.approve_device(flow["user_code"])
    result = application.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    [account] = application.get_accounts()
    graph.expire_access_tokens()
    again = app(graph, cache).acquire_token_silent_with_error(
        ["Calendars.Read"], account=account, force_refresh=True)
    assert again and "access_token" in again and again["access_token"] != result["access_token"]


def test_a_revoked_refresh_token_is_invalid_grant(graph):
    cache = msal.SerializableTokenCache()
    application = app(graph, cache)
    flow = application.initiate_device_flow(scopes=["Calendars.Read"])
    graph.approve_device(flow["user_code"])
    application.acquire_token_by_device_flow(flow)
    graph.revoke_all()
    [account] = application.get_accounts()
    failed = application.acquire_token_silent_with_error(["Calendars.Read"], account=account,
                                                         force_refresh=True)
    assert failed["error"] == "invalid_grant"


def test_delta_pages_then_reports_only_changes_and_removals(graph):
    master = seeded(graph)
    token = graph.issue(["Calendars.Read"])["access_token"]
    graph.max_page = 4
    with client(graph, token) as http:
        seen, url, params, pages = [], "calendarView/delta", window(), 0
        while True:
            page = http.get(url, params=params).json()
            pages += 1
            seen += page["value"]
            if "@odata.nextLink" in page:
                url, params = page["@odata.nextLink"], None
                continue
            delta = page["@odata.deltaLink"]
            break
        assert pages == 2 and len(seen) == 6
        assert {i["type"] for i in seen} == {"occurrence"}
        assert all(i["seriesMasterId"] == master["id"] for i in seen)
        assert http.get(delta).json()["value"] == []
        graph.cancel_occurrence(master["id"], datetime(2026, 10, 19, 10, tzinfo=BERLIN))
        graph.move_occurrence(master["id"], datetime(2026, 10, 26, 10, tzinfo=BERLIN),
                              datetime(2026, 10, 27, 15, tzinfo=BERLIN))
        changes = http.get(delta).json()["value"]
        assert {c.get("type") for c in changes} == {"exception", None}
        [removed] = [c for c in changes if "@removed" in c]
        assert removed["@removed"] == {"reason": "deleted"}
        got = http.get(f"events/{master['id']}",
                       params={"$select": "cancelledOccurrences,recurrence"}).json()
        assert got["cancelledOccurrences"] == [f"OID.{master['id']}.2026-10-19"]
        graph.expire_delta_links()
        gone = http.get(delta)
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "syncStateNotFound"


def test_patch_with_a_stale_etag_is_412_and_write_needs_readwrite(graph):
    master = seeded(graph)
    read = graph.issue(["Calendars.Read"])["access_token"]
    write = graph.issue(["Calendars.ReadWrite"])["access_token"]
    with client(graph, read) as http:
        assert http.patch(f"events/{master['id']}", json={"subject": "x"}).status_code == 403
    with client(graph, write) as http:
        etag = master["@odata.etag"]
        first = http.patch(f"events/{master['id']}", json={"subject": "new"},
                           headers={"If-Match": etag})
        assert first.status_code == 200 and first.json()["subject"] == "new"
        stale = http.patch(f"events/{master['id']}", json={"subject": "newer"},
                           headers={"If-Match": etag})
        assert stale.status_code == 412


def test_throttling_fault_answers_429_with_retry_after(graph):
    token = graph.issue(["Calendars.Read"])["access_token"]
    graph.fail("GET", r"/calendars$", 429, "TooManyRequests", retry_after="2")
    with client(graph, token) as http:
        first = http.get("calendars")
        assert first.status_code == 429 and first.headers["Retry-After"] == "2"
        assert http.get("calendars").status_code == 200


def test_times_come_in_utc_or_the_preferred_zone(graph):
    master = seeded(graph)
    token = graph.issue(["Calendars.Read"])["access_token"]
    with client(graph, token) as http:
        utc = http.get(f"events/{master['id']}").json()
        assert utc["start"] == {"dateTime": "2026-10-05T08:00:00.0000000", "timeZone": "UTC"}
        local = http.get(f"events/{master['id']}",
                         headers={"Prefer": 'outlook.timezone="W. Europe Standard Time"'}).json()
        assert local["start"]["dateTime"].startswith("2026-10-05T10:00:00")
        instances = http.get(f"events/{master['id']}/instances", params=window()).json()
        assert len(instances["value"]) == 6
        assert (datetime.fromisoformat(instances["value"][-1]["originalStart"])
                - datetime.fromisoformat(instances["value"][0]["originalStart"])
                == timedelta(weeks=5, hours=1))  # across the end of summer time
