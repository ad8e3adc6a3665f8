#!/usr/bin/env python3
"""dogwatch against Datadog's own API client: `datadog-api-client` (datadog_api_client), unchanged,
pointed at a real `dogwatch up` with an API key and an application key.

Run with the tracer virtualenv's python (scripts/install-tracers.sh makes it and installs the
pinned client of tests/api_client/requirements.txt):

    scripts/install-tracers.sh
    target/tracer-env/bin/python tests/api_client/run.py [--dogwatch PATH] [-v] [--keep-logs]

What happens:

1. `dogwatch up` on free ports with a temporary data directory (tests/common/dogwatch_up.py),
   its agent collecting processes every 2 s; an application key of `admin` is made with
   `dogwatch app-key create` on the data directory.
2. The client is configured as a user would, `Configuration(host="http://127.0.0.1:PORT",
   api_key={"apiKeyAuth": KEY, "appKeyAuth": APP_KEY})`, and used through its own API classes,
   whose answers it deserializes into its models (so a field of the wrong type fails here):
   v1 AuthenticationApi.validate; MetricsApi.submit_metrics (v1, and v2 plain and deflate), then query_metrics,
   list_active_metrics and list_metrics; EventsApi.create_event, then list_events and get_event;
   v2 ProcessesApi.list_processes (search, paging); SpansApi.list_spans_get (a trace sent to the
   agent's receiver); v1 HostsApi.list_hosts, get_host_totals; TagsApi.create_host_tags,
   get_host_tags, list_host_tags, update_host_tags, delete_host_tags; MetricsApi.get_metric_metadata,
   update_metric_metadata; v2 MetricsApi.list_tags_by_metric_name, list_volumes_by_metric_name;
   SpansApi.list_spans (POST search, paging) and aggregate_spans; KeyManagementApi: create_api_key, list_api_keys, get_api_key,
   update_api_key, delete_api_key, create_current_user_application_key,
   list_current_user_application_keys, get_current_user_application_key,
   delete_current_user_application_key — each key used right after it is made, and refused right
   after it is deleted.
3. Refusals as Datadog's client sees them: no application key, a wrong one, or a wrong API key
   raise ForbiddenException (403); no keys at all UnauthorizedException (401); a Read Only user's
   application key reads but may not manage API keys (403).

Every test prints `PASS <name>` or `FAIL <name>: <reason>`; the last line is
`api_client: N passed, M failed`, and the exit status is non-zero when anything failed.
Everything listens on 127.0.0.1, every wait is bounded, and every child process is killed at the
end.

Environment: DOGWATCH_BIN (the binary, default target/debug/dogwatch), API_CLIENT_WAIT_S (how
long data may take to show up in the API, default 30).
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
import uuid
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
from dogwatch_up import (  # noqa: E402  (tests/common: what the real-client runners share)
    REPO, Dogwatch, Failure, check, finish, http, log, run_phase, run_test, set_verbose, stop_all, until)

# The client reads DD_API_KEY, DD_APP_KEY and DD_SITE from the environment when a key is not
# given: none of the user's may leak into a test that leaves a key out on purpose.
for _k in ("DD_API_KEY", "DD_APP_KEY", "DD_APPLICATION_KEY", "DD_SITE"):
    os.environ.pop(_k, None)

try:
    from datadog_api_client import ApiClient, Configuration
    from datadog_api_client.exceptions import ApiException, ForbiddenException, NotFoundException, UnauthorizedException
    from datadog_api_client.v1.api.authentication_api import AuthenticationApi
    from datadog_api_client.v1.api.events_api import EventsApi
    from datadog_api_client.v1.api.metrics_api import MetricsApi
    from datadog_api_client.v1.model.event_create_request import EventCreateRequest
    from datadog_api_client.v1.model.metrics_payload import MetricsPayload
    from datadog_api_client.v1.model.point import Point
    from datadog_api_client.v1.model.series import Series
    from datadog_api_client.v1.api.hosts_api import HostsApi
    from datadog_api_client.v1.api.tags_api import TagsApi
    from datadog_api_client.v1.model.host_tags import HostTags
    from datadog_api_client.v1.model.metric_metadata import MetricMetadata
    from datadog_api_client.v2.api.metrics_api import MetricsApi as MetricsApiV2
    from datadog_api_client.v2.model.metric_content_encoding import MetricContentEncoding
    from datadog_api_client.v2.model.metric_intake_type import MetricIntakeType
    from datadog_api_client.v2.model.metric_payload import MetricPayload
    from datadog_api_client.v2.model.metric_point import MetricPoint
    from datadog_api_client.v2.model.metric_resource import MetricResource
    from datadog_api_client.v2.model.metric_series import MetricSeries
    from datadog_api_client.v2.model.spans_aggregate_data import SpansAggregateData
    from datadog_api_client.v2.model.spans_aggregate_request import SpansAggregateRequest
    from datadog_api_client.v2.model.spans_aggregate_request_attributes import SpansAggregateRequestAttributes
    from datadog_api_client.v2.model.spans_aggregate_request_type import SpansAggregateRequestType
    from datadog_api_client.v2.model.spans_aggregation_function import SpansAggregationFunction
    from datadog_api_client.v2.model.spans_compute import SpansCompute
    from datadog_api_client.v2.model.spans_compute_type import SpansComputeType
    from datadog_api_client.v2.model.spans_group_by import SpansGroupBy
    from datadog_api_client.v2.model.spans_list_request import SpansListRequest
    from datadog_api_client.v2.model.spans_list_request_attributes import SpansListRequestAttributes
    from datadog_api_client.v2.model.spans_list_request_data import SpansListRequestData
    from datadog_api_client.v2.model.spans_list_request_page import SpansListRequestPage
    from datadog_api_client.v2.model.spans_list_request_type import SpansListRequestType
    from datadog_api_client.v2.model.spans_query_filter import SpansQueryFilter
    from datadog_api_client.v2.model.spans_query_options import SpansQueryOptions
    from datadog_api_client.v2.model.spans_sort import SpansSort
    from datadog_api_client.v2.api.key_management_api import KeyManagementApi
    from datadog_api_client.v2.api.processes_api import ProcessesApi
    from datadog_api_client.v2.api.spans_api import SpansApi
    from datadog_api_client.v2.model.api_key_create_attributes import APIKeyCreateAttributes
    from datadog_api_client.v2.model.api_key_create_data import APIKeyCreateData
    from datadog_api_client.v2.model.api_key_create_request import APIKeyCreateRequest
    from datadog_api_client.v2.model.api_key_update_attributes import APIKeyUpdateAttributes
    from datadog_api_client.v2.model.api_key_update_data import APIKeyUpdateData
    from datadog_api_client.v2.model.api_key_update_request import APIKeyUpdateRequest
    from datadog_api_client.v2.model.api_keys_type import APIKeysType
    from datadog_api_client.v2.model.application_key_create_attributes import ApplicationKeyCreateAttributes
    from datadog_api_client.v2.model.application_key_create_data import ApplicationKeyCreateData
    from datadog_api_client.v2.model.application_key_create_request import ApplicationKeyCreateRequest
    from datadog_api_client.v2.model.application_keys_type import ApplicationKeysType
    import datadog_api_client.version
except ImportError as e:  # pragma: no cover - a missing venv is the usual cause
    print("FAIL import datadog_api_client: %s (run scripts/install-tracers.sh, then use target/tracer-env/bin/python)" % e)
    print("api_client: 0 passed, 1 failed", flush=True)
    sys.exit(1)

WAIT_S = float(os.environ.get("API_CLIENT_WAIT_S", "30"))
HOSTNAME = "api-client-test-host"
RUN = uuid.uuid4().hex[:8]
METRIC = "apiclient.%s.temperature" % RUN
EVENT_TITLE = "api client deploy %s" % RUN
SERVICE = "apiclient-%s" % RUN
HEX40 = re.compile(r"[0-9a-f]{40}")
DW = [None]


def client(dw, api_key=None, app_key=None):
    """An ApiClient for `dw` with the given keys (None leaves that key out)."""
    keys = {}
    if api_key is not None:
        keys["apiKeyAuth"] = api_key
    if app_key is not None:
        keys["appKeyAuth"] = app_key
    config = Configuration(host=dw.base, api_key=keys)
    config.enable_retry = False
    return ApiClient(config)


def admin(dw):
    return client(dw, dw.api_key, dw.app_key)


def expect_refusal(what, fn, exc, status):
    """Calls fn(); it must raise `exc` (the client's class for `status`)."""
    try:
        fn()
    except exc as e:
        check(e.status == status, "%s: %s with status %s, expected %d" % (what, type(e).__name__, e.status, status))
        return e
    except ApiException as e:
        raise Failure("%s: expected %s (%d), got %s %s: %s" % (what, exc.__name__, status, type(e).__name__, e.status, str(e.body)[:300]))
    raise Failure("%s: expected %s (%d), and the call succeeded" % (what, exc.__name__, status))


def errors_of(e):
    """The `errors` of a refusal's body (the client has already parsed it when it was JSON)."""
    body = e.body
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return []
    return list(body.get("errors") or []) if isinstance(body, dict) else []


def query_points(api_client, query, frm, to):
    """MetricsApi.query_metrics: {scope: [(ts_ms, value)]} of the answer's series."""
    answer = MetricsApi(api_client).query_metrics(_from=frm, to=to, query=query)
    check(answer.status == "ok", "query_metrics(%r) status %r" % (query, answer.status))
    out = {}
    for s in answer.series or []:
        out[s.scope] = [tuple(p.value) for p in s.pointlist]
    return out


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------

POINTS = []  # [(ts, value)] submitted


def test_validate(dw):
    with admin(dw) as c:
        answer = AuthenticationApi(c).validate()
    check(answer.valid is True, "validate() answered %r" % answer)


def test_submit_and_query(dw):
    now = int(time.time())
    POINTS[:] = [(now - 60, 20.5), (now - 40, 21.0), (now - 20, 22.25)]
    body = MetricsPayload(series=[Series(metric=METRIC, points=[Point([float(t), v]) for t, v in POINTS], type="gauge",
                                         host=HOSTNAME, tags=["env:apiclient", "run:%s" % RUN])])
    with admin(dw) as c:
        accepted = MetricsApi(c).submit_metrics(body=body)
        check(accepted.status == "ok", "submit_metrics answered %r" % accepted)
        query = "avg:%s{env:apiclient} by {host}" % METRIC

        def points():
            got = query_points(c, query, now - 600, now + 60)
            return got if any(got.values()) else None
        got = until("the submitted points in query_metrics(%r)" % query, points, WAIT_S, every=0.5)
    # Datadog's scope of a group: the query's filter and the group's tags.
    scope = "env:apiclient,host:%s" % HOSTNAME
    check(list(got) == [scope], "one series, %r; got scopes %r" % (scope, list(got)))
    values = sorted(v for _, v in got[scope])
    check(values == sorted(v for _, v in POINTS), "values %r, sent %r" % (values, [v for _, v in POINTS]))
    stamps = [t for t, _ in got[scope]]
    check(all(isinstance(t, float) and t > 1e12 for t in stamps), "timestamps are epoch ms: %r" % stamps)


def test_submit_v2_and_query(dw):
    """v2 MetricsApi.submit_metrics as Datadog's own example body has it (type, points, a host
    resource, a unit), plain and deflate-compressed; query_metrics reads the points back and
    get_metric_metadata the unit."""
    metric = "apiclient.%s.v2.load" % RUN
    host = "v2-%s" % HOSTNAME
    now = int(time.time()) // 60 * 60 - 240
    sent = [(now, 0.7), (now + 60, 1.25)]
    with admin(dw) as c:
        api = MetricsApiV2(c)
        for (t, v), encoding in zip(sent, [None, MetricContentEncoding.DEFLATE]):
            body = MetricPayload(series=[MetricSeries(metric=metric, type=MetricIntakeType.UNSPECIFIED,
                                                      points=[MetricPoint(timestamp=t, value=v)],
                                                      resources=[MetricResource(name=host, type="host")],
                                                      tags=["run:%s" % RUN], unit="request", interval=60)])
            kwargs = {} if encoding is None else {"content_encoding": encoding}
            accepted = api.submit_metrics(body=body, **kwargs)
            check(list(accepted.errors) == [], "v2 submit_metrics (%s) answered %r" % (encoding or "plain", accepted))
        query = "avg:%s{run:%s} by {host}" % (metric, RUN)

        def points():
            got = query_points(c, query, now - 600, now + 600)
            return got if sum(len(p) for p in got.values()) == len(sent) else None
        got = until("the v2 points in query_metrics(%r)" % query, points, WAIT_S, every=0.5)
        # The series' unit became the metric's metadata unit, as in Datadog.
        meta = MetricsApi(c).get_metric_metadata(metric_name=metric)
        check(meta.unit == "request", "get_metric_metadata unit after a v2 submit with unit 'request': %r" % meta.to_dict())
    scope = "run:%s,host:%s" % (RUN, host)  # the filter, then the group
    check(list(got) == [scope], "one series, %r; got scopes %r" % (scope, list(got)))
    check(got[scope] == [(float(t * 1000), v) for t, v in sent], "points %r, sent %r" % (got[scope], sent))


def test_metric_listings(dw):
    with admin(dw) as c:
        api = MetricsApi(c)
        active = until("the metric in list_active_metrics", lambda: METRIC in (api.list_active_metrics(_from=int(time.time()) - 3600).metrics or []), WAIT_S)
        check(active, "listed")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Datadog deprecated it; dogwatch still answers it
            found = api.list_metrics(q="metrics:apiclient.%s" % RUN)
    names = found.results.metrics if found.results else []
    check(METRIC in names, "list_metrics(metrics:apiclient.%s) found %r" % (RUN, names))


def test_events(dw):
    with admin(dw) as c:
        api = EventsApi(c)
        made = api.create_event(body=EventCreateRequest(title=EVENT_TITLE, text="rolled out by the API client", tags=["env:apiclient", "run:%s" % RUN], host=HOSTNAME))
        check(made.status == "ok", "create_event answered %r" % made)
        now = int(time.time())

        def listed():
            answer = api.list_events(start=now - 600, end=now + 60, tags="run:%s" % RUN)
            return [e for e in (answer.events or []) if e.title == EVENT_TITLE]
        events = until("the event in list_events", listed, WAIT_S, every=0.5)
        check(len(events) == 1, "one event, got %d" % len(events))
        e = events[0]
        check("env:apiclient" in (e.tags or []), "tags %r" % e.tags)
        check(e.host == HOSTNAME, "host %r" % e.host)
        one = api.get_event(event_id=e.id)
    check(one.event.title == EVENT_TITLE and one.event.id == e.id, "get_event(%s) answered %r" % (e.id, one.event.title))


def test_processes(dw):
    with admin(dw) as c:
        api = ProcessesApi(c)

        def found():
            answer = api.list_processes(search="dogwatch", page_limit=100)
            return answer if answer.data else None
        answer = until("this host's dogwatch process in list_processes(search=dogwatch)", found, WAIT_S, every=0.5)
        mine = [p for p in answer.data if p.attributes.pid == DW[0].child.proc.pid]
        check(mine, "dogwatch up (pid %d) among %r" % (DW[0].child.proc.pid, [(p.attributes.host, p.attributes.pid) for p in answer.data]))
        p = mine[0].attributes
        check(p.host == HOSTNAME, "host %r" % p.host)
        check("dogwatch" in p.cmdline and "up" in p.cmdline, "cmdline %r" % p.cmdline)
        check(isinstance(p.ppid, int) and p.user, "ppid %r, user %r" % (p.ppid, p.user))
        check(mine[0].type.value == "process", "type %r" % mine[0].type)
        # Paging: two at a time, following meta.page.after, never the same process twice.
        first = api.list_processes(page_limit=2)
        check(len(first.data) == 2, "page_limit=2 gave %d" % len(first.data))
        after = first.meta.page.after
        check(after, "a cursor to the next page: %r" % first.meta)
        second = api.list_processes(page_limit=2, page_cursor=after)
        ids = [x.id for x in first.data] + [x.id for x in second.data]
        check(second.data and len(set(ids)) == len(ids), "pages overlap: %r" % ids)


def send_trace(dw):
    """One trace, as a tracer sends it (v0.4 JSON), to the agent's trace receiver."""
    t0 = (time.time_ns() - 2_000_000_000)
    trace_id = int(uuid.uuid4().hex[:15], 16)
    spans = [
        {"trace_id": trace_id, "span_id": 11, "parent_id": 0, "service": SERVICE, "name": "http.request", "resource": "GET /orders",
         "type": "web", "start": t0, "duration": 30_000_000, "error": 0, "meta": {"env": "apiclient", "http.status_code": "200"},
         "metrics": {"_sampling_priority_v1": 1}},
        {"trace_id": trace_id, "span_id": 12, "parent_id": 11, "service": SERVICE, "name": "postgres.query", "resource": "SELECT 1",
         "type": "sql", "start": t0 + 5_000_000, "duration": 10_000_000, "error": 0, "meta": {"env": "apiclient"}, "metrics": {}},
    ]
    status, _, text = http("PUT", "http://127.0.0.1:%d/v0.4/traces" % dw.receiver_port, body=json.dumps([spans]).encode(),
                           headers={"Content-Type": "application/json", "X-Datadog-Trace-Count": "1"})
    check(status == 200, "the trace receiver answered %d: %s" % (status, text[:200]))
    return trace_id


def test_spans(dw):
    trace_id = send_trace(dw)
    with admin(dw) as c:
        api = SpansApi(c)

        def found():
            answer = api.list_spans_get(filter_query="service:%s" % SERVICE, filter_from="now-15m", filter_to="now", page_limit=10)
            return answer if len(answer.data or []) >= 2 else None
        answer = until("both spans in list_spans_get(service:%s)" % SERVICE, found, WAIT_S, every=0.5)
    names = sorted(s.attributes.resource_name for s in answer.data)
    # The agent obfuscates SQL as Datadog's does.
    check(names == ["GET /orders", "SELECT ?"], "resources %r" % names)
    check(all(s.attributes.service == SERVICE for s in answer.data), "services %r" % [s.attributes.service for s in answer.data])
    check(all(str(s.attributes.trace_id) in (str(trace_id), "%032x" % trace_id, "%x" % trace_id) for s in answer.data),
          "trace ids %r, sent %d" % ([s.attributes.trace_id for s in answer.data], trace_id))


def test_hosts(dw):
    with admin(dw) as c:
        api = HostsApi(c)

        def listed():
            answer = api.list_hosts(filter=HOSTNAME, sort_field="name", sort_dir="asc", start=0, count=10,
                                    _from=int(time.time()) - 3600, include_muted_hosts_data=True, include_hosts_metadata=True)
            return answer if answer.host_list else None
        answer = until("this host in list_hosts(filter=%s)" % HOSTNAME, listed, WAIT_S, every=0.5)
        check(answer.total_returned == len(answer.host_list) == 1 and answer.total_matching == 1,
              "one host: total_matching %r, total_returned %r" % (answer.total_matching, answer.total_returned))
        host = answer.host_list[0]
        check(host.name == HOSTNAME and host.host_name == HOSTNAME and HOSTNAME in host.aliases, "host %r" % host.name)
        check(host.up is True and host.is_muted is False and "agent" in host.apps, "up %r, muted %r, apps %r" % (host.up, host.is_muted, host.apps))
        check(abs(host.last_reported_time - time.time()) < 120, "last_reported_time %r" % host.last_reported_time)
        check("suite:api_client" in host.tags_by_source.get("Datadog", []), "the agent's tags %r" % host.tags_by_source)
        check(host.meta.agent_version, "meta.agent_version %r" % host.meta)
        check(isinstance(host.metrics.cpu, float) and 0 <= host.metrics.cpu <= 100, "metrics %r" % host.metrics)
        none = api.list_hosts(filter="no-such-host-%s" % RUN)
        check(none.total_matching == 0 and none.host_list == [], "a filter matching nothing: %r" % none.total_matching)
        totals = api.get_host_totals(_from=int(time.time()) - 3600)
    check(totals.total_active >= 1 and totals.total_up >= 1, "get_host_totals %r" % totals)


def test_host_tags(dw):
    with admin(dw) as c:
        api = TagsApi(c)
        # The bodies of datadog-api-client's own tags.feature.
        made = api.create_host_tags(host_name=HOSTNAME, body=HostTags(host=HOSTNAME, tags=["role:database", "environment:test"]))
        check(made.host == HOSTNAME and made.tags == ["role:database", "environment:test"], "create_host_tags answered %r" % made)
        one = api.get_host_tags(host_name=HOSTNAME)
        check("role:database" in one.tags and "suite:api_client" in one.tags, "get_host_tags: the user's and the agent's: %r" % one.tags)
        mine = api.get_host_tags(host_name=HOSTNAME, source="user")
        check(mine.tags == ["role:database", "environment:test"], "get_host_tags(source=user) %r" % mine.tags)
        everything = api.list_host_tags()
        check(everything.tags.get("role:database") == [HOSTNAME], "list_host_tags %r" % everything.tags.get("role:database"))
        hosts = HostsApi(c).list_hosts(filter="role:database")
        check([h.name for h in hosts.host_list] == [HOSTNAME], "list_hosts(filter=role:database): %r" % [h.name for h in hosts.host_list])
        check(hosts.host_list[0].tags_by_source.get("Users") == ["role:database", "environment:test"], "tags_by_source %r" % hosts.host_list[0].tags_by_source)
        replaced = api.update_host_tags(host_name=HOSTNAME, body=HostTags(host=HOSTNAME, tags=["role:api"]))
        check(replaced.tags == ["role:api"], "update_host_tags answered %r" % replaced.tags)
        api.delete_host_tags(host_name=HOSTNAME)
        after = api.get_host_tags(host_name=HOSTNAME, source="user")
        check(after.tags == [], "after delete_host_tags: %r" % after.tags)
        expect_refusal("get_host_tags of an unknown host", lambda: api.get_host_tags(host_name="nowhere-%s" % RUN), NotFoundException, 404)


def test_metric_metadata_tags_and_volumes(dw):
    with admin(dw) as c:
        api = MetricsApi(c)
        got = api.get_metric_metadata(metric_name=METRIC)
        check(got.type == "gauge", "get_metric_metadata type %r" % got.to_dict())
        # The body of datadog-api-client's own metrics.feature ("Edit metric metadata").
        updated = api.update_metric_metadata(metric_name=METRIC, body=MetricMetadata(per_unit="second", type="count", unit="byte"))
        check((updated.type, updated.unit, updated.per_unit) == ("count", "byte", "second"), "update_metric_metadata answered %r" % updated.to_dict())
        again = api.get_metric_metadata(metric_name=METRIC)
        check(again.unit == "byte" and again.per_unit == "second", "get_metric_metadata after the update %r" % again.to_dict())
        e = expect_refusal("update_metric_metadata with a bad type", lambda: api.update_metric_metadata(metric_name=METRIC, body=MetricMetadata(type="histogram")), ApiException, 400)
        check(any("`type`" in m for m in errors_of(e)), "the error names the field: %r" % errors_of(e))
        v2 = MetricsApiV2(c)
        tags = v2.list_tags_by_metric_name(metric_name=METRIC)
        check(tags.data.id == METRIC and "host:%s" % HOSTNAME in tags.data.attributes.tags and "env:apiclient" in tags.data.attributes.tags,
              "list_tags_by_metric_name %r" % tags.data.attributes.tags)
        volumes = v2.list_volumes_by_metric_name(metric_name=METRIC)
    check(volumes.data.attributes.distinct_volume == 1, "list_volumes_by_metric_name %r" % volumes.data.to_dict())


def test_spans_search_and_aggregate(dw):
    with admin(dw) as c:
        api = SpansApi(c)
        query = "service:%s" % SERVICE

        def found():
            body = SpansListRequest(data=SpansListRequestData(type=SpansListRequestType.SEARCH_REQUEST, attributes=SpansListRequestAttributes(
                filter=SpansQueryFilter(_from="now-15m", query=query, to="now"), sort=SpansSort.TIMESTAMP_DESCENDING,
                page=SpansListRequestPage(limit=1))))
            answer = api.list_spans(body=body)
            return answer if answer.data else None
        first = until("a span in list_spans(%s)" % query, found, WAIT_S, every=0.5)
        check(first.data[0].type.value == "spans" and first.data[0].attributes.service == SERVICE, "list_spans %r" % first.data[0].to_dict())
        after = first.meta.page.after
        check(after and first.links.next.startswith(dw.base + "/api/v2/spans/events?"), "meta.page.after %r, links.next %r" % (after, first.links.next))
        second = api.list_spans(body=SpansListRequest(data=SpansListRequestData(type=SpansListRequestType.SEARCH_REQUEST, attributes=SpansListRequestAttributes(
            filter=SpansQueryFilter(_from="now-15m", query=query, to="now"), page=SpansListRequestPage(limit=1, cursor=after)))))
        check(len(second.data) == 1 and second.data[0].id != first.data[0].id, "the second page: %r" % [s.id for s in second.data])
        # The body of datadog-api-client's own spans.feature ("Search spans returns OK"): oldest first.
        own_list = api.list_spans(body=SpansListRequest(data=SpansListRequestData(type=SpansListRequestType.SEARCH_REQUEST, attributes=SpansListRequestAttributes(
            filter=SpansQueryFilter(_from="now-15m", query="*", to="now"), options=SpansQueryOptions(timezone="GMT"),
            page=SpansListRequestPage(limit=25), sort=SpansSort.TIMESTAMP_ASCENDING))))
        starts = [s.attributes.start_timestamp for s in own_list.data]
        check(len(starts) >= 2 and starts == sorted(starts), "list_spans(sort=timestamp): oldest first: %r" % starts)
        body = SpansAggregateRequest(data=SpansAggregateData(type=SpansAggregateRequestType.AGGREGATE_REQUEST, attributes=SpansAggregateRequestAttributes(
            filter=SpansQueryFilter(_from="now-15m", query=query, to="now"),
            compute=[SpansCompute(aggregation=SpansAggregationFunction.COUNT, type=SpansComputeType.TOTAL),
                     SpansCompute(aggregation=SpansAggregationFunction.MAX, metric="@duration", type=SpansComputeType.TOTAL),
                     SpansCompute(aggregation=SpansAggregationFunction.PERCENTILE_99, metric="@duration", type=SpansComputeType.TOTAL)],
            group_by=[SpansGroupBy(facet="resource_name")])))
        answer = api.aggregate_spans(body=body)
        # The body of datadog-api-client's own spans.feature ("Aggregate spans returns OK").
        own = api.aggregate_spans(body=SpansAggregateRequest(data=SpansAggregateData(type=SpansAggregateRequestType.AGGREGATE_REQUEST, attributes=SpansAggregateRequestAttributes(
            compute=[SpansCompute(aggregation=SpansAggregationFunction.COUNT, interval="5m", type=SpansComputeType.TIMESERIES)],
            filter=SpansQueryFilter(_from="now-15m", query="*", to="now")))))
    points = own.data[0].attributes.computes["c0"]
    check(sum(p.value for p in points) >= 2, "aggregate_spans count per 5m over every span: %r" % points)
    got = sorted((b.attributes.by["resource_name"], b.attributes.computes["c0"], b.attributes.computes["c1"]) for b in answer.data)
    check([(r, n) for r, n, _ in got] == [("GET /orders", 1), ("SELECT ?", 1)], "aggregate_spans count by resource_name: %r" % got)
    check([d for _, _, d in got] == [30_000_000, 10_000_000], "max @duration by resource: %r" % got)


def reads_with(dw, api_key, app_key):
    """A read with these keys (query_metrics), raising what the client raises."""
    now = int(time.time())
    with client(dw, api_key, app_key) as c:
        return MetricsApi(c).query_metrics(_from=now - 600, to=now, query="avg:%s{*}" % METRIC)


def test_api_keys(dw):
    with admin(dw) as c:
        api = KeyManagementApi(c)
        made = api.create_api_key(body=APIKeyCreateRequest(data=APIKeyCreateData(type=APIKeysType.API_KEYS, attributes=APIKeyCreateAttributes(name="apiclient-%s" % RUN))))
        key, key_id = made.data.attributes.key, made.data.id
        check(key and len(key) >= 32, "the new key is shown once: %r" % key)
        check(made.data.attributes.last4 == key[-4:], "last4 %r of %r" % (made.data.attributes.last4, key))
        check(made.data.attributes.name == "apiclient-%s" % RUN, "name %r" % made.data.attributes.name)
        listed = api.list_api_keys()
        mine = [k for k in listed.data if k.id == key_id]
        check(mine, "list_api_keys has %s: %r" % (key_id, [k.id for k in listed.data]))
        check("key" not in mine[0].attributes.to_dict(), "a listed key is not shown whole: %r" % mine[0].attributes.to_dict())
        got = api.get_api_key(api_key_id=key_id)
        check(got.data.attributes.last4 == key[-4:], "get_api_key last4 %r" % got.data.attributes.last4)
        renamed = api.update_api_key(api_key_id=key_id, body=APIKeyUpdateRequest(data=APIKeyUpdateData(type=APIKeysType.API_KEYS, id=key_id, attributes=APIKeyUpdateAttributes(name="renamed-%s" % RUN))))
        check(renamed.data.attributes.name == "renamed-%s" % RUN, "update_api_key name %r" % renamed.data.attributes.name)
    # Made through the API, it works at once: for intake alone, and with the app key for reads.
    with client(dw, key) as c:
        check(AuthenticationApi(c).validate().valid is True, "validate() with the new key")
        now = int(time.time())
        MetricsApi(c).submit_metrics(body=MetricsPayload(series=[Series(metric=METRIC + ".newkey", points=[Point([float(now), 1.0])], type="gauge")]))
    check(reads_with(dw, key, dw.app_key).status == "ok", "a read with the new API key")
    with admin(dw) as c:
        KeyManagementApi(c).delete_api_key(api_key_id=key_id)
        check(key_id not in [k.id for k in KeyManagementApi(c).list_api_keys().data], "deleted, yet listed")
        expect_refusal("get_api_key of a deleted key", lambda: KeyManagementApi(c).get_api_key(api_key_id=key_id), NotFoundException, 404)
    expect_refusal("a read with the deleted API key", lambda: reads_with(dw, key, dw.app_key), ForbiddenException, 403)
    with client(dw, key) as c:
        now = int(time.time())
        expect_refusal("submit_metrics with the deleted API key",
                       lambda: MetricsApi(c).submit_metrics(body=MetricsPayload(series=[Series(metric=METRIC, points=[Point([float(now), 1.0])])])),
                       ForbiddenException, 403)


def test_application_keys(dw):
    with admin(dw) as c:
        api = KeyManagementApi(c)
        made = api.create_current_user_application_key(body=ApplicationKeyCreateRequest(data=ApplicationKeyCreateData(
            type=ApplicationKeysType.APPLICATION_KEYS, attributes=ApplicationKeyCreateAttributes(name="apiclient-app-%s" % RUN))))
        key, key_id = made.data.attributes.key, made.data.id
        check(HEX40.fullmatch(key or ""), "a 40-hex application key, shown once: %r" % key)
        check(made.data.attributes.last4 == key[-4:], "last4 %r" % made.data.attributes.last4)
        listed = api.list_current_user_application_keys()
        check(key_id in [k.id for k in listed.data], "list_current_user_application_keys has %s: %r" % (key_id, [k.id for k in listed.data]))
        check(len(listed.data) >= 2, "the CLI's key and this one: %r" % [k.attributes.name for k in listed.data])
        one = api.get_current_user_application_key(app_key_id=key_id)
        check(one.data.attributes.name == "apiclient-app-%s" % RUN, "get_current_user_application_key name %r" % one.data.attributes.name)
    check(reads_with(dw, dw.api_key, key).status == "ok", "a read with the new application key, at once")
    with admin(dw) as c:
        KeyManagementApi(c).delete_current_user_application_key(app_key_id=key_id)
        check(key_id not in [k.id for k in KeyManagementApi(c).list_current_user_application_keys().data], "deleted, yet listed")
    expect_refusal("a read with the deleted application key", lambda: reads_with(dw, dw.api_key, key), ForbiddenException, 403)


def test_without_app_key(dw):
    with client(dw, dw.api_key) as c:
        now = int(time.time())
        calls = [
            ("MetricsApi.query_metrics", lambda: MetricsApi(c).query_metrics(_from=now - 600, to=now, query="avg:%s{*}" % METRIC)),
            ("ProcessesApi.list_processes", lambda: ProcessesApi(c).list_processes()),
            ("SpansApi.list_spans_get", lambda: SpansApi(c).list_spans_get(filter_query="*")),
            ("EventsApi.list_events", lambda: EventsApi(c).list_events(start=now - 600, end=now)),
            ("HostsApi.list_hosts", lambda: HostsApi(c).list_hosts()),
            ("TagsApi.list_host_tags", lambda: TagsApi(c).list_host_tags()),
            ("KeyManagementApi.list_api_keys", lambda: KeyManagementApi(c).list_api_keys()),
            ("KeyManagementApi.list_current_user_application_keys", lambda: KeyManagementApi(c).list_current_user_application_keys()),
        ]
        for name, call in calls:
            e = expect_refusal(name + " without the application key", call, ForbiddenException, 403)
            check(any("DD-APPLICATION-KEY" in m for m in errors_of(e)), "%s: the error says what is missing: %r" % (name, errors_of(e)))
        # Sending needs no application key: intake still takes the API key alone.
        check(AuthenticationApi(c).validate().valid is True, "validate() with the API key alone")


def test_wrong_keys(dw):
    wrong_app = "0" * 40
    wrong_api = "f" * 32
    expect_refusal("a wrong application key", lambda: reads_with(dw, dw.api_key, wrong_app), ForbiddenException, 403)
    expect_refusal("a wrong API key with the right application key", lambda: reads_with(dw, wrong_api, dw.app_key), ForbiddenException, 403)
    expect_refusal("the application key without an API key", lambda: reads_with(dw, None, dw.app_key), ForbiddenException, 403)
    with client(dw, wrong_api) as c:
        expect_refusal("validate() with a wrong API key", lambda: AuthenticationApi(c).validate(), ForbiddenException, 403)


def test_no_keys(dw):
    e = expect_refusal("a read with no keys at all", lambda: reads_with(dw, None, None), UnauthorizedException, 401)
    check(any(m.startswith("Unauthorized") for m in errors_of(e)), "errors %r" % errors_of(e))


def test_read_only_user(dw):
    dw.cli("user", "add", "apiclient-viewer", "--role", "read_only", "--password-stdin", stdin="viewer-password-1\n")
    viewer_key = dw.cli("app-key", "create", "--user", "apiclient-viewer", "--name", "viewer")
    check(HEX40.fullmatch(viewer_key), "app-key create printed %r" % viewer_key)

    def accepted():
        try:
            return reads_with(dw, dw.api_key, viewer_key).status == "ok"
        except ForbiddenException:
            return False  # the server reloads keys made by the CLI within 5 s
    until("the viewer's application key to be accepted", accepted, 15, every=0.5)
    with client(dw, dw.api_key, viewer_key) as c:
        api = KeyManagementApi(c)
        check(ProcessesApi(c).list_processes(page_limit=1).data is not None, "a Read Only user lists processes")
        e = expect_refusal("list_api_keys as a Read Only user", lambda: api.list_api_keys(), ForbiddenException, 403)
        check(any("Admin" in m for m in errors_of(e)), "the error names the role needed: %r" % errors_of(e))
        expect_refusal("create_api_key as a Read Only user",
                       lambda: api.create_api_key(body=APIKeyCreateRequest(data=APIKeyCreateData(type=APIKeysType.API_KEYS, attributes=APIKeyCreateAttributes(name="nope")))),
                       ForbiddenException, 403)
        check(HostsApi(c).list_hosts(count=1).host_list is not None, "a Read Only user lists hosts")
        expect_refusal("create_host_tags as a Read Only user",
                       lambda: TagsApi(c).create_host_tags(host_name=HOSTNAME, body=HostTags(tags=["role:nope"])), ForbiddenException, 403)
        expect_refusal("update_metric_metadata as a Read Only user",
                       lambda: MetricsApi(c).update_metric_metadata(metric_name=METRIC, body=MetricMetadata(unit="byte")), ForbiddenException, 403)
        mine = api.list_current_user_application_keys()
        check([k.attributes.name for k in mine.data] == ["viewer"], "the viewer sees only its own application keys: %r" % [k.attributes.name for k in mine.data])


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dogwatch", default=os.environ.get("DOGWATCH_BIN", os.path.join(REPO, "target", "debug", "dogwatch")))
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--keep-logs", action="store_true", help="keep the children's logs even when everything passed")
    args = ap.parse_args()
    set_verbose(args.verbose)
    started = time.monotonic()
    logdir = tempfile.mkdtemp(prefix="dogwatch-api-client-")
    print("datadog-api-client %s against %s" % (datadog_api_client.version.__version__, args.dogwatch), flush=True)
    try:
        ok, dw = run_phase("dogwatch up", lambda: Dogwatch(args.dogwatch, logdir, HOSTNAME, "suite:api_client", wait_receiver=True,
                                                           env={"DD_PROCESS_CONFIG_INTERVALS_PROCESS": "2"}, data_prefix="dogwatch-api-client-"),
                           lambda d: "dogwatch up on %s with an application key from `dogwatch app-key create`" % d.base,
                           blocks="dogwatch up did not start")
        DW[0] = dw
        tests = [
            ("v1 validate: the API key is valid", test_validate),
            ("v1 submit_metrics, then query_metrics returns the points", test_submit_and_query),
            ("v2 submit_metrics (plain and deflate), then query_metrics returns the points", test_submit_v2_and_query),
            ("v1 list_active_metrics and list_metrics find the metric", test_metric_listings),
            ("v1 create_event, then list_events and get_event find it", test_events),
            ("v2 list_processes: this host's processes, searched and paged", test_processes),
            ("v2 list_spans_get: a trace sent to the agent is found", test_spans),
            ("v1 list_hosts and get_host_totals: this host, filtered, paged, with its agent's tags", test_hosts),
            ("v1 host tags: create, get, list, shown by list_hosts, update, delete", test_host_tags),
            ("v1 metric metadata get/update; v2 list_tags_by_metric_name and list_volumes_by_metric_name", test_metric_metadata_tags_and_volumes),
            ("v2 list_spans (POST search, paged, absolute links.next) and aggregate_spans by resource", test_spans_search_and_aggregate),
            ("v2 API keys: create, list, get, rename, use at once, delete, refused after", test_api_keys),
            ("v2 current user's application keys: create, list, get, use at once, delete, refused after", test_application_keys),
            ("without the application key: ForbiddenException (403) on every read", test_without_app_key),
            ("a wrong application key or API key: ForbiddenException (403)", test_wrong_keys),
            ("no keys at all: UnauthorizedException (401)", test_no_keys),
            ("a Read Only user's application key reads but may not manage API keys (403)", test_read_only_user),
        ]
        for name, fn in tests:
            run_test(name, fn, dw)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    finally:
        if DW[0] is not None:
            log("stopping dogwatch up")
            DW[0].stop()
        stop_all()
    return finish("api_client", started, logdir, args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
