//! Datadog's public read API as its clients call it: `/api/v1/hosts` and `/hosts/totals`, the
//! host tags API (user-set tags that join the agent's, in the hosts API and the UI's host
//! list), metric metadata and volumes, and the span search and aggregation POSTs, against a
//! real server with a real store. Bad input is a 400 in Datadog's shape naming the field.

mod common;

use serde_json::{Value, json};

fn now_s() -> i64 {
    dogwatch_server::now_ms() / 1000
}

async fn send(c: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut request = c.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(s: &common::Running, path: &str) -> (u16, Value) {
    send(
        &common::client(),
        reqwest::Method::GET,
        format!("{}{path}", s.base),
        None,
    )
    .await
}

/// Two hosts reporting now (web-1 with the agent tag `team:a`, db-1), and their CPU, iowait and
/// load.
async fn with_hosts() -> common::Running {
    let s = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    let c = common::client();
    for (host, tags, idle, iowait, load) in [
        ("web-1", vec!["team:a"], 75.0, 2.5, 0.5),
        ("db-1", vec![], 10.0, 7.0, 1.25),
    ] {
        let meta =
            json!({"internalHostname": host, "agentVersion": "7.50.0", "os": "linux", "host-tags": {"system": tags}});
        let (status, _) = send(&c, reqwest::Method::POST, format!("{}/intake/", s.base), Some(meta)).await;
        assert_eq!(status, 202, "host metadata of {host}");
        let t = now_s();
        let series = json!({"series": [
            {"metric": "system.cpu.idle", "points": [[t - 10, idle]], "host": host, "type": "gauge"},
            {"metric": "system.cpu.idle", "points": [[t - 10, 1.0]], "host": host, "type": "gauge", "tags": ["core:0"]},
            {"metric": "system.cpu.iowait", "points": [[t - 10, iowait]], "host": host, "type": "gauge"},
            {"metric": "system.load.norm.1", "points": [[t - 10, load]], "host": host, "type": "gauge"},
        ]});
        let (status, _) = send(
            &c,
            reqwest::Method::POST,
            format!("{}/api/v1/series", s.base),
            Some(series),
        )
        .await;
        assert_eq!(status, 202, "series of {host}");
    }
    s
}

fn names(answer: &Value) -> Vec<&str> {
    answer["host_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_host_list_has_datadogs_shape_and_filters_sorts_and_pages() {
    let s = with_hosts().await;
    let (status, all) = get(&s, "/api/v1/hosts").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(names(&all), ["db-1", "web-1"]);
    assert_eq!(
        (all["total_matching"].as_u64(), all["total_returned"].as_u64()),
        (Some(2), Some(2))
    );
    let web = &all["host_list"][1];
    assert_eq!(web["host_name"], "web-1");
    assert_eq!(web["aliases"], json!(["web-1"]));
    assert_eq!(web["apps"], json!(["agent"]));
    assert_eq!(web["sources"], json!(["agent"]));
    assert_eq!(web["tags_by_source"], json!({"Datadog": ["team:a"]}));
    assert_eq!(
        (web["up"].as_bool(), web["is_muted"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(
        (web["last_reported_time"].as_i64().unwrap() - now_s()).abs() < 60,
        "{web}"
    );
    assert_eq!(web["meta"]["agent_version"], "7.50.0");
    assert_eq!(web["meta"]["platform"], "linux");
    assert_eq!(web["metrics"], json!({"cpu": 25.0, "iowait": 2.5, "load": 0.5}));
    assert!(web.get("mute_timeout").is_none());

    let (_, by_cpu) = get(&s, "/api/v1/hosts?sort_field=cpu&sort_dir=desc").await;
    assert_eq!(names(&by_cpu), ["db-1", "web-1"], "db-1 uses 90% CPU");
    let (_, by_name) = get(&s, "/api/v1/hosts?sort_field=name&sort_dir=desc").await;
    assert_eq!(names(&by_name), ["web-1", "db-1"]);
    let (_, filtered) = get(&s, "/api/v1/hosts?filter=team:a").await;
    assert_eq!(
        (names(&filtered), filtered["total_matching"].as_u64()),
        (vec!["web-1"], Some(1))
    );
    let (_, both) = get(&s, "/api/v1/hosts?filter=team:a,web").await;
    assert_eq!(names(&both), ["web-1"], "comma-separated terms, as Datadog's");
    let (_, neither) = get(&s, "/api/v1/hosts?filter=team:a,db").await;
    assert_eq!(neither["total_matching"], 0);
    let (_, by_name_part) = get(&s, "/api/v1/hosts?filter=db").await;
    assert_eq!(names(&by_name_part), ["db-1"]);
    let (_, page) = get(&s, "/api/v1/hosts?start=1&count=1").await;
    assert_eq!(
        (
            names(&page),
            page["total_matching"].as_u64(),
            page["total_returned"].as_u64()
        ),
        (vec!["web-1"], Some(2), Some(1))
    );
    let (_, future) = get(&s, &format!("/api/v1/hosts?from={}", now_s() + 3600)).await;
    assert_eq!(future["total_matching"], 0);
    let (_, with_meta) = get(
        &s,
        "/api/v1/hosts?include_muted_hosts_data=true&include_hosts_metadata=true",
    )
    .await;
    assert_eq!(with_meta["host_list"][0]["mute_timeout"], Value::Null);
    assert!(
        with_meta["host_list"][0]["mute_timeout"].is_null() && with_meta["host_list"][0].get("mute_timeout").is_some()
    );
    assert_eq!(with_meta["host_list"][0]["meta"]["agent_checks"], json!([]));

    let (status, totals) = get(&s, "/api/v1/hosts/totals").await;
    assert_eq!((status, totals), (200, json!({"total_active": 2, "total_up": 2})));
    let (_, none) = get(&s, &format!("/api/v1/hosts/totals?from={}", now_s() + 3600)).await;
    assert_eq!(none, json!({"total_active": 0, "total_up": 2}));
}

#[tokio::test]
async fn bad_host_list_parameters_are_400s_naming_the_parameter() {
    let s = with_hosts().await;
    for (query, named) in [
        ("sort_field=colour", "`sort_field`"),
        ("sort_dir=up", "`sort_dir`"),
        ("count=1001", "`count`"),
        ("count=ten", "`count`"),
        ("start=-1", "`start`"),
        ("include_hosts_metadata=yes", "`include_hosts_metadata`"),
    ] {
        let (status, body) = get(&s, &format!("/api/v1/hosts?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["errors"][0].as_str().unwrap().contains(named), "{query}: {body}");
    }
}

#[tokio::test]
async fn user_set_host_tags_join_the_agents_per_source_and_can_be_replaced_and_deleted() {
    let s = with_hosts().await;
    let c = common::client();
    let url = |path: &str| format!("{}{path}", s.base);
    let body = json!({"host": "web-1", "tags": ["role:database", "environment:test"]});
    let (status, made) = send(&c, reqwest::Method::POST, url("/api/v1/tags/hosts/web-1"), Some(body)).await;
    assert_eq!(
        (status, made),
        (
            201,
            json!({"host": "web-1", "tags": ["role:database", "environment:test"]})
        )
    );
    let (status, _) = send(
        &c,
        reqwest::Method::POST,
        url("/api/v1/tags/hosts/web-1?source=chef"),
        Some(json!({"tags": ["cookbook:nginx"]})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, one) = get(&s, "/api/v1/tags/hosts/web-1").await;
    assert_eq!(
        (status, one),
        (
            200,
            json!({"tags": ["team:a", "cookbook:nginx", "role:database", "environment:test"]})
        )
    );
    let (_, users) = get(&s, "/api/v1/tags/hosts/web-1?source=user").await;
    assert_eq!(users, json!({"tags": ["role:database", "environment:test"]}));
    let (_, all) = get(&s, "/api/v1/tags/hosts").await;
    assert_eq!(
        all,
        json!({"tags": {"cookbook:nginx": ["web-1"], "environment:test": ["web-1"], "role:database": ["web-1"], "team:a": ["web-1"]}})
    );
    // The hosts API and the UI's host list show them, by source.
    let (_, hosts) = get(&s, "/api/v1/hosts?filter=role:database").await;
    assert_eq!(names(&hosts), ["web-1"]);
    assert_eq!(
        hosts["host_list"][0]["tags_by_source"],
        json!({"Datadog": ["team:a"], "Users": ["role:database", "environment:test"], "chef": ["cookbook:nginx"]})
    );
    let (_, ui) = get(&s, "/api/ui/hosts").await;
    let ui_web = ui["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hostname"] == "web-1")
        .unwrap()
        .clone();
    assert_eq!(
        ui_web["tags"],
        json!(["team:a", "cookbook:nginx", "role:database", "environment:test"])
    );
    assert_eq!(
        ui_web["tags_by_source"]["Users"],
        json!(["role:database", "environment:test"])
    );

    let (status, replaced) = send(
        &c,
        reqwest::Method::PUT,
        url("/api/v1/tags/hosts/web-1"),
        Some(json!({"host": "web-1", "tags": ["role:api"]})),
    )
    .await;
    assert_eq!(
        (status, replaced),
        (201, json!({"host": "web-1", "tags": ["role:api"]}))
    );
    let response = c
        .delete(url("/api/v1/tags/hosts/web-1?source=chef"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let (_, after) = get(&s, "/api/v1/tags/hosts/web-1").await;
    assert_eq!(after, json!({"tags": ["team:a", "role:api"]}));
    let response = c.delete(url("/api/v1/tags/hosts/web-1")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let (_, agent_only) = get(&s, "/api/v1/tags/hosts/web-1").await;
    assert_eq!(agent_only, json!({"tags": ["team:a"]}));
}

#[tokio::test]
async fn bad_host_tag_requests_are_refused_naming_the_field_or_host() {
    let s = with_hosts().await;
    let c = common::client();
    let url = format!("{}/api/v1/tags/hosts/web-1", s.base);
    for (body, named) in [
        (json!({"host": "web-1"}), "`tags`"),
        (json!({"tags": "role:web"}), "`tags`"),
        (json!({"tags": ["ok", 3]}), "`tags[1]`"),
        (json!({"tags": [""]}), "`tags[0]`"),
        (json!({"host": "db-1", "tags": ["a"]}), "`host`"),
    ] {
        let (status, answer) = send(&c, reqwest::Method::POST, url.clone(), Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["errors"][0].as_str().unwrap().contains(named),
            "{body}: {answer}"
        );
    }
    let (status, answer) = send(
        &c,
        reqwest::Method::POST,
        format!("{url}?source=a%2Fb"),
        Some(json!({"tags": ["a"]})),
    )
    .await;
    assert!(
        status == 400 && answer["errors"][0].as_str().unwrap().contains("`source`"),
        "{answer}"
    );
    let (status, answer) = send(
        &c,
        reqwest::Method::POST,
        format!("{}/api/v1/tags/hosts/nowhere", s.base),
        Some(json!({"tags": ["a"]})),
    )
    .await;
    assert!(
        status == 404 && answer["errors"][0].as_str().unwrap().contains("nowhere"),
        "{answer}"
    );
    let (status, _) = get(&s, "/api/v1/tags/hosts/nowhere").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn metric_metadata_takes_the_received_type_then_what_users_set_and_volumes_count_contexts() {
    let s = with_hosts().await;
    let c = common::client();
    let url = format!("{}/api/v1/metrics/system.cpu.idle", s.base);
    let (status, received) = get(&s, "/api/v1/metrics/system.cpu.idle").await;
    assert_eq!((status, received), (200, json!({"type": "gauge"})));
    let change = json!({"per_unit": "second", "type": "count", "unit": "byte"});
    let (status, updated) = send(&c, reqwest::Method::PUT, url.clone(), Some(change)).await;
    assert_eq!(
        (status, updated),
        (200, json!({"type": "count", "unit": "byte", "per_unit": "second"}))
    );
    let more = json!({"description": "idle CPU", "short_name": "idle", "statsd_interval": 10});
    send(&c, reqwest::Method::PUT, url.clone(), Some(more)).await;
    let (_, now) = get(&s, "/api/v1/metrics/system.cpu.idle").await;
    assert_eq!(
        now,
        json!({"type": "count", "unit": "byte", "per_unit": "second", "description": "idle CPU", "short_name": "idle", "statsd_interval": 10})
    );
    let (_, ui) = get(&s, "/api/ui/metrics/system.cpu.idle").await;
    assert_eq!(ui["metadata"]["unit"], "byte");
    for (body, named) in [
        (json!({"type": "histogram"}), "`type`"),
        (json!({"unit": 5}), "`unit`"),
        (json!({"unit": "bytes/s"}), "`unit`"),
        (json!({"statsd_interval": 0}), "`statsd_interval`"),
        (json!({"integration": "redis"}), "`integration`"),
        (json!({"colour": "red"}), "`colour`"),
    ] {
        let (status, answer) = send(&c, reqwest::Method::PUT, url.clone(), Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["errors"][0].as_str().unwrap().contains(named),
            "{body}: {answer}"
        );
    }
    let (status, _) = send(
        &c,
        reqwest::Method::PUT,
        format!("{}/api/v1/metrics/never.sent", s.base),
        Some(json!({"unit": "byte"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = get(&s, "/api/v1/metrics/never.sent").await;
    assert_eq!(status, 404);

    // Two hosts, each with a whole-host and a core:0 context.
    let (status, volumes) = get(&s, "/api/v2/metrics/system.cpu.idle/volumes").await;
    assert_eq!(
        (status, volumes),
        (
            200,
            json!({"data": {"id": "system.cpu.idle", "type": "distinct_metric_volumes", "attributes": {"distinct_volume": 4}}})
        )
    );
    let (_, tags) = get(&s, "/api/v2/metrics/system.cpu.idle/all-tags").await;
    assert_eq!(
        tags["data"]["attributes"]["tags"],
        json!(["core:0", "host:db-1", "host:web-1"])
    );
    let (status, _) = get(&s, "/api/v2/metrics/never.sent/volumes").await;
    assert_eq!(status, 404);
}

/// Six spans of the last minute: `checkout` 10, 20, 30, 40 ms (one an error) on GET /cart
/// and GET /pay, `billing` 100 and 300 ms.
fn store_spans(s: &common::Running) {
    use dogwatch_store::{IntakeBatch, Records, SpanRow, Store};
    let start = (dogwatch_server::now_ms() - 60_000) * 1_000_000;
    let span = |id: u64, service: &str, resource: &str, ms: i64, error: bool| SpanRow {
        trace_id: 900 + id,
        span_id: id,
        start: start + id as i64 * 1_000_000,
        duration: ms * 1_000_000,
        error,
        top_level: true,
        service: service.into(),
        name: "web.request".into(),
        resource: resource.into(),
        kind: "web".into(),
        host: "web-1".into(),
        env: "prod".into(),
        ..Default::default()
    };
    let spans = vec![
        span(1, "checkout", "GET /cart", 10, false),
        span(2, "checkout", "GET /cart", 20, false),
        span(3, "checkout", "GET /pay", 30, true),
        span(4, "checkout", "GET /pay", 40, false),
        span(5, "billing", "POST /bill", 100, false),
        span(6, "billing", "POST /bill", 300, false),
    ];
    s.store
        .ingest(IntakeBatch {
            payload_id: None,
            received_at_ms: dogwatch_server::now_ms(),
            records: Records::Spans(spans),
        })
        .unwrap();
}

fn search_body(query: &str, limit: u64, cursor: Option<&str>) -> Value {
    let mut page = json!({"limit": limit});
    if let Some(c) = cursor {
        page["cursor"] = json!(c);
    }
    json!({"data": {"type": "search_request", "attributes": {
        "filter": {"query": query, "from": "now-15m", "to": "now"}, "sort": "-timestamp", "page": page}}})
}

#[tokio::test]
async fn span_search_by_post_pages_with_a_cursor_and_an_absolute_next_link() {
    let s = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    store_spans(&s);
    let c = common::client();
    let url = format!("{}/api/v2/spans/events/search", s.base);
    let (status, first) = send(
        &c,
        reqwest::Method::POST,
        url.clone(),
        Some(search_body("service:checkout", 3, None)),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let ids: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["4", "3", "2"], "newest first");
    assert_eq!(first["data"][0]["type"], "spans");
    assert_eq!(first["data"][0]["attributes"]["resource_name"], "GET /pay");
    let after = first["meta"]["page"]["after"].as_str().unwrap().to_string();
    let next = first["links"]["next"].as_str().unwrap();
    assert!(next.starts_with(&format!("{}/api/v2/spans/events?", s.base)), "{next}");
    assert!(next.contains("filter%5Bquery%5D=service%3Acheckout"), "{next}");
    let (_, second) = send(
        &c,
        reqwest::Method::POST,
        url.clone(),
        Some(search_body("service:checkout", 3, Some(&after))),
    )
    .await;
    let ids: Vec<&str> = second["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1"]);
    assert!(
        second["links"].get("next").is_none() && second["meta"]["page"].get("after").is_none(),
        "{second}"
    );
    // Oldest first, as the client's own spans.feature body asks (`sort: timestamp`).
    let mut body = search_body("service:checkout", 3, None);
    body["data"]["attributes"]["sort"] = json!("timestamp");
    let (_, oldest) = send(&c, reqwest::Method::POST, url.clone(), Some(body.clone())).await;
    let ids: Vec<&str> = oldest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "3"], "{oldest}");
    assert!(
        oldest["links"]["next"].as_str().unwrap().contains("sort=timestamp"),
        "{oldest}"
    );
    body["data"]["attributes"]["page"]["cursor"] = oldest["meta"]["page"]["after"].clone();
    let (_, rest) = send(&c, reqwest::Method::POST, url.clone(), Some(body)).await;
    let ids: Vec<&str> = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["4"], "{rest}");
    // The GET's link is absolute too, and leads to the same next page.
    let response = c.get(next).send().await.unwrap();
    let via_link: Value = response.json().await.unwrap();
    assert!(via_link["data"].as_array().is_some(), "{via_link}");

    for (body, named) in [
        (json!({"data": {"type": "aggregate_request"}}), "`data.type`"),
        (json!({"nodata": 1}), "`data`"),
        (search_body("service:(", 3, None), "data.attributes.filter.query"),
        (search_body("*", 0, None), "`data.attributes.page.limit`"),
        (search_body("*", 3, Some("nope")), "`data.attributes.page.cursor`"),
        (
            json!({"data": {"attributes": {"filter": {"from": "yesterday-ish"}}}}),
            "`data.attributes.filter.from`",
        ),
        (
            json!({"data": {"attributes": {"sort": "duration"}}}),
            "`data.attributes.sort`",
        ),
    ] {
        let (status, answer) = send(&c, reqwest::Method::POST, url.clone(), Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["errors"][0].as_str().unwrap().contains(named),
            "{body}: {answer}"
        );
    }
}

fn aggregate_body(query: &str, compute: Value, group_by: Value) -> Value {
    json!({"data": {"type": "aggregate_request", "attributes": {
        "filter": {"query": query, "from": "now-15m", "to": "now"}, "compute": compute, "group_by": group_by}}})
}

#[tokio::test]
async fn span_aggregation_counts_and_takes_percentiles_of_duration_by_facet() {
    let s = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    store_spans(&s);
    let c = common::client();
    let url = format!("{}/api/v2/spans/analytics/aggregate", s.base);
    let compute = json!([
        {"aggregation": "count", "type": "total"},
        {"aggregation": "avg", "metric": "@duration"},
        {"aggregation": "pc90", "metric": "@duration"},
        {"aggregation": "max", "metric": "@duration"},
    ]);
    let (status, by_service) = send(
        &c,
        reqwest::Method::POST,
        url.clone(),
        Some(aggregate_body("*", compute.clone(), json!([{"facet": "service"}]))),
    )
    .await;
    assert_eq!(status, 200, "{by_service}");
    let buckets: Vec<(Value, Value)> = by_service["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            assert_eq!(b["type"], "bucket");
            (b["attributes"]["by"].clone(), b["attributes"]["computes"].clone())
        })
        .collect();
    assert_eq!(
        buckets,
        vec![
            (
                json!({"service": "checkout"}),
                json!({"c0": 4, "c1": 25_000_000.0, "c2": 40_000_000.0, "c3": 40_000_000.0})
            ),
            (
                json!({"service": "billing"}),
                json!({"c0": 2, "c1": 200_000_000.0, "c2": 300_000_000.0, "c3": 300_000_000.0})
            ),
        ],
        "by count, descending"
    );
    assert_eq!(by_service["meta"]["status"], "done");

    let (_, nested) = send(
        &c,
        reqwest::Method::POST,
        url.clone(),
        Some(aggregate_body(
            "service:checkout",
            json!([{"aggregation": "sum", "metric": "@duration"}]),
            json!([{"facet": "resource_name", "sort": {"type": "alphabetical", "order": "asc"}}, {"facet": "status", "limit": 5}]),
        )),
    )
    .await;
    let rows: Vec<(Value, Value)> = nested["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["attributes"]["by"].clone(), b["attributes"]["computes"]["c0"].clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                json!({"resource_name": "GET /cart", "status": "ok"}),
                json!(30_000_000.0)
            ),
            (
                json!({"resource_name": "GET /pay", "status": "ok"}),
                json!(40_000_000.0)
            ),
            (
                json!({"resource_name": "GET /pay", "status": "error"}),
                json!(30_000_000.0)
            ),
        ],
        "resources alphabetically, then statuses by the sum, descending"
    );
    let (_, total) = send(
        &c,
        reqwest::Method::POST,
        url.clone(),
        Some(aggregate_body(
            "status:error",
            json!([{"aggregation": "count"}]),
            json!([]),
        )),
    )
    .await;
    assert_eq!(
        total["data"],
        json!([{"id": "bucket-0", "type": "bucket", "attributes": {"by": {}, "compute": {}, "computes": {"c0": 1}}}])
    );
    // The body of datadog-api-client's own spans.feature: a count per 5 minutes.
    let (_, series) = send(
        &c,
        reqwest::Method::POST,
        url.clone(),
        Some(aggregate_body(
            "*",
            json!([{"aggregation": "count", "interval": "5m", "type": "timeseries"}]),
            json!([]),
        )),
    )
    .await;
    let points = series["data"][0]["attributes"]["computes"]["c0"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!points.is_empty() && points.len() <= 2, "{series}");
    assert_eq!(
        points.iter().map(|p| p["value"].as_u64().unwrap()).sum::<u64>(),
        6,
        "{series}"
    );
    for p in &points {
        let t = p["time"].as_str().unwrap();
        let ms = dogwatch_model::time::parse_time_ms(t, 0).unwrap();
        assert_eq!(ms % 300_000, 0, "a bucket starts on a 5 minute boundary: {t}");
    }
    let (_, top1) = send(
        &c,
        reqwest::Method::POST,
        url.clone(),
        Some(aggregate_body(
            "*",
            json!([{"aggregation": "count"}]),
            json!([{"facet": "service", "limit": 1}]),
        )),
    )
    .await;
    assert_eq!(top1["data"].as_array().unwrap().len(), 1);

    for (body, named) in [
        (
            aggregate_body("*", json!([{"aggregation": "mode"}]), json!([])),
            "`data.attributes.compute[0].aggregation`",
        ),
        (
            aggregate_body("*", json!([{"aggregation": "avg"}]), json!([])),
            "`data.attributes.compute[0].metric`",
        ),
        (
            aggregate_body("*", json!([{"aggregation": "count", "type": "histogram"}]), json!([])),
            "`data.attributes.compute[0].type`",
        ),
        (
            aggregate_body("*", json!([{"aggregation": "count"}]), json!([{"limit": 3}])),
            "`data.attributes.group_by[0].facet`",
        ),
        (
            aggregate_body(
                "*",
                json!([{"aggregation": "count"}]),
                json!([{"facet": "service", "sort": {"order": "up"}}]),
            ),
            "`data.attributes.group_by[0].sort.order`",
        ),
        (
            aggregate_body("*", json!("count"), json!([])),
            "`data.attributes.compute`",
        ),
    ] {
        let (status, answer) = send(&c, reqwest::Method::POST, url.clone(), Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["errors"][0].as_str().unwrap().contains(named),
            "{body}: {answer}"
        );
    }
}
