//! Every route the server serves refuses a request without the credentials it needs, in
//! Datadog's error shape: the test walks the route table, so a route added later without the
//! right access fails here.

mod common;

use dogwatch_server::http::{Access, table};
use dogwatch_store::{Role, Store};
use serde_json::Value;

/// The only routes anyone may call without credentials.
const PUBLIC: &[&str] = &[
    "/api/v1/validate",
    "/api/ui/login",
    "/api/ui/logout",
    "/login/{token}",
    "/assets/{*path}",
];

/// A concrete path for a route path: every `{param}` becomes `x`.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// An application key for a new user with `role`.
fn key_of(store: &dyn Store, name: &str, role: Role) -> String {
    let user = dogwatch_server::auth::admin::create_user(store, name, role, "").unwrap();
    dogwatch_server::auth::admin::create_app_key(store, user.id, "test")
        .unwrap()
        .0
}

async fn status_of(
    client: &reqwest::Client,
    method: &axum::http::Method,
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
    let mut request = client
        .request(method, url)
        .header("Content-Type", "application/json")
        .body("{}");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn as_user(key: &str) -> Vec<(&'static str, &str)> {
    vec![("DD-API-KEY", common::KEY), ("DD-APPLICATION-KEY", key)]
}

fn is_datadog_error(body: &Value) -> bool {
    body["errors"]
        .as_array()
        .is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string))
}

#[tokio::test]
async fn every_route_refuses_requests_without_the_credentials_it_needs() {
    let server = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    let read_only = key_of(server.store.as_ref(), "reader", Role::ReadOnly);
    let standard = key_of(server.store.as_ref(), "writer", Role::Standard);
    server.reload_auth();
    let client = reqwest::Client::new();
    let routes = table::routes();
    assert!(
        routes.len() > 40,
        "the table lists every route ({} found)",
        routes.len()
    );
    let mut checked = 0;
    for route in &routes {
        let url = format!("{}{}", server.base, concrete(route.path));
        let what = format!("{} {}", route.method, route.path);
        if route.access == Access::Public {
            let page = dogwatch_server::pages::PAGE_PATHS.contains(&route.path);
            assert!(
                page || PUBLIC.contains(&route.path),
                "{what} is public but not on the list of public routes"
            );
            continue;
        }
        let (status, body) = status_of(&client, &route.method, &url, &[]).await;
        assert!(
            matches!(status, 401 | 403) && is_datadog_error(&body),
            "{what} without credentials: {status} {body}"
        );
        let (status, body) = status_of(
            &client,
            &route.method,
            &url,
            &[("DD-API-KEY", "wrong"), ("DD-APPLICATION-KEY", "wrong")],
        )
        .await;
        assert!(
            status == 403 && is_datadog_error(&body),
            "{what} with wrong keys: {status} {body}"
        );
        if route.access == Access::Intake {
            let (status, _) = status_of(&client, &route.method, &url, &[("DD-APPLICATION-KEY", common::APP_KEY)]).await;
            assert_eq!(status, 403, "{what} with an application key but no API key");
            checked += 1;
            continue;
        }
        let (status, body) = status_of(&client, &route.method, &url, &[("DD-API-KEY", common::KEY)]).await;
        assert!(
            status == 403 && is_datadog_error(&body),
            "{what} with an API key alone: {status} {body}"
        );
        let (status, _) = status_of(&client, &route.method, &url, &[("DD-APPLICATION-KEY", common::APP_KEY)]).await;
        assert_eq!(status, 403, "{what} with an application key alone");
        if matches!(route.access, Access::Write | Access::Admin) {
            let (status, body) = status_of(&client, &route.method, &url, &as_user(&read_only)).await;
            assert!(
                status == 403 && is_datadog_error(&body),
                "{what} as Read Only: {status} {body}"
            );
        }
        if route.access == Access::Admin {
            let (status, _) = status_of(&client, &route.method, &url, &as_user(&standard)).await;
            assert_eq!(status, 403, "{what} as Standard");
        }
        // With the right credentials the guard lets it through (the handler may still refuse
        // the empty body or the made-up id, but not for want of credentials).
        let (status, body) = status_of(&client, &route.method, &url, &as_user(common::APP_KEY)).await;
        assert!(!matches!(status, 401 | 403), "{what} as an admin: {status} {body}");
        checked += 1;
    }
    assert!(checked > 35, "{checked} routes checked");
}

#[test]
fn the_integrations_routes_are_in_the_table_with_read_access() {
    let routes = table::routes();
    for path in ["/api/ui/integrations", "/api/ui/integrations/{id}"] {
        let route = routes
            .iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("{path} is not in the route table"));
        assert_eq!((route.method.as_str(), route.access), ("GET", Access::Read), "{path}");
    }
}

#[test]
fn datadogs_public_host_tag_metric_metadata_and_span_routes_are_in_the_table_with_their_access() {
    let routes = table::routes();
    for (method, path, access) in [
        ("GET", "/api/v1/hosts", Access::Read),
        ("GET", "/api/v1/hosts/totals", Access::Read),
        ("GET", "/api/v1/tags/hosts", Access::Read),
        ("GET", "/api/v1/tags/hosts/{host_name}", Access::Read),
        ("POST", "/api/v1/tags/hosts/{host_name}", Access::Write),
        ("PUT", "/api/v1/tags/hosts/{host_name}", Access::Write),
        ("DELETE", "/api/v1/tags/hosts/{host_name}", Access::Write),
        ("GET", "/api/v1/metrics/{metric}", Access::Read),
        ("PUT", "/api/v1/metrics/{metric}", Access::Write),
        ("GET", "/api/v2/metrics/{metric}/all-tags", Access::Read),
        ("GET", "/api/v2/metrics/{metric}/volumes", Access::Read),
        ("POST", "/api/v2/spans/events/search", Access::Read),
        ("POST", "/api/v2/spans/analytics/aggregate", Access::Read),
    ] {
        let route = routes
            .iter()
            .find(|r| r.path == path && r.method.as_str() == method)
            .unwrap_or_else(|| panic!("{method} {path} is not in the route table"));
        assert_eq!(route.access, access, "{method} {path}");
    }
}
