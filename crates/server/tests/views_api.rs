//! Saved views of the web UI over real HTTP: `/api/ui/views` list, create, update and delete
//! against a server with a store in a temporary directory. Like every `/api/ui/` route they
//! need no API key, so no request here sends one.

use reqwest::Method;
use serde_json::{Value, json};

mod common;
use common::Running;

async fn start() -> Running {
    common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await
}

/// What a request got: the status, the `Location` header and the body (JSON when it parses,
/// else its text).
struct Answer {
    status: u16,
    location: Option<String>,
    body: Value,
}

async fn send(client: &reqwest::Client, method: Method, url: String, body: Option<Vec<u8>>) -> Answer {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status, location, body }
}

impl Running {
    async fn get(&self, path: &str) -> Answer {
        send(&common::client(), Method::GET, format!("{}{path}", self.base), None).await
    }

    async fn post(&self, body: &Value) -> Answer {
        self.post_raw(serde_json::to_vec(body).unwrap()).await
    }

    async fn post_raw(&self, body: Vec<u8>) -> Answer {
        let url = format!("{}/api/ui/views", self.base);
        send(&common::client(), Method::POST, url, Some(body)).await
    }

    async fn put(&self, id: impl std::fmt::Display, body: &Value) -> Answer {
        let url = format!("{}/api/ui/views/{id}", self.base);
        let body = serde_json::to_vec(body).unwrap();
        send(&common::client(), Method::PUT, url, Some(body)).await
    }

    async fn delete(&self, id: impl std::fmt::Display) -> Answer {
        let url = format!("{}/api/ui/views/{id}", self.base);
        send(&common::client(), Method::DELETE, url, None).await
    }

    /// Creates a view that must be accepted; returns it.
    async fn create(&self, page: &str, name: &str, state: Value) -> Value {
        let answer = self.post(&json!({"page": page, "name": name, "state": state})).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body
    }

    /// The names of the views listed at `path`.
    async fn names(&self, path: &str) -> Vec<String> {
        let answer = self.get(path).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["views"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Asserts an error answer: its status and its one message.
#[track_caller]
fn assert_error(answer: &Answer, status: u16, message: &str) {
    assert_eq!(
        (answer.status, &answer.body),
        (status, &json!({"errors": [message]})),
        "expected {status} {message:?}"
    );
}

fn state() -> Value {
    json!({
        "query": "java -user:root",
        "columns": ["host", "pid", "command", "cpu"],
        "sort": {"field": "cpu", "order": "desc"},
        "group_by": ["service"],
        "visualization": "table",
        "flags": [true, null, 2.5]
    })
}

#[tokio::test]
async fn a_view_goes_through_create_list_rename_replace_and_delete() {
    let s = start().await;
    assert_eq!(s.get("/api/ui/views").await.body, json!({"views": []}));

    let answer = s
        .post(&json!({"page": "processes", "name": "  Busy Java  ", "state": state()}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let created = answer.body;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(answer.location.as_deref(), Some(format!("/api/ui/views/{id}").as_str()));
    let created_ms = created["created_ms"].as_i64().unwrap();
    assert!(created_ms > 1_700_000_000_000, "created_ms is now: {created_ms}");
    assert_eq!(
        created,
        json!({"id": id, "page": "processes", "name": "Busy Java", "state": state(),
               "created_ms": created_ms, "updated_ms": created_ms}),
        "the name is trimmed, the state kept as given"
    );

    // Another client (another user's browser) sees it, on its page and among all.
    let other = common::client();
    let listed = send(
        &other,
        Method::GET,
        format!("{}/api/ui/views?page=processes", s.base),
        None,
    )
    .await;
    assert_eq!(
        (listed.status, &listed.body),
        (200, &json!({"views": [created.clone()]}))
    );
    assert_eq!(s.get("/api/ui/views").await.body, json!({"views": [created.clone()]}));
    assert_eq!(
        s.get("/api/ui/views?page=").await.body,
        json!({"views": [created.clone()]})
    );
    assert_eq!(s.get("/api/ui/views?page=hosts").await.body, json!({"views": []}));

    let renamed = s.put(id, &json!({"name": "Java hogs"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Java hogs");
    assert_eq!(renamed.body["state"], state(), "a rename keeps the state");
    assert_eq!(renamed.body["created_ms"], created_ms);
    assert!(renamed.body["updated_ms"].as_i64().unwrap() >= created_ms);

    let replaced = s.put(id, &json!({"state": {"query": "python"}})).await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(
        (&replaced.body["name"], &replaced.body["state"]),
        (&json!("Java hogs"), &json!({"query": "python"})),
        "the new state replaces the old one whole"
    );
    let both = s
        .put(id, &json!({"name": "Python", "state": {"query": "python3"}}))
        .await;
    assert_eq!(both.status, 200, "{}", both.body);
    assert_eq!(s.get("/api/ui/views").await.body, json!({"views": [both.body]}));

    let deleted = s.delete(id).await;
    assert_eq!((deleted.status, &deleted.body), (204, &json!("")));
    assert_eq!(s.get("/api/ui/views").await.body, json!({"views": []}));
    assert_error(&s.delete(id).await, 404, &format!("no saved view with id {id}"));
}

#[tokio::test]
async fn views_are_listed_by_name_ignoring_case_and_filtered_by_page() {
    let s = start().await;
    for name in ["beta", "Alpha", "gamma"] {
        s.create("processes", name, json!({})).await;
    }
    s.create("hosts", "delta", json!({})).await;
    assert_eq!(
        s.names("/api/ui/views?page=processes").await,
        ["Alpha", "beta", "gamma"]
    );
    assert_eq!(s.names("/api/ui/views").await, ["Alpha", "beta", "delta", "gamma"]);
    assert_eq!(s.names("/api/ui/views?page=hosts").await, ["delta"]);
}

#[tokio::test]
async fn a_name_taken_on_the_page_is_409_ignoring_case_and_free_on_another_page() {
    let s = start().await;
    let first = s.create("processes", "Busy Java", json!({"query": "java"})).await;
    let taken = s
        .post(&json!({"page": "processes", "name": " busy JAVA ", "state": {}}))
        .await;
    assert_error(
        &taken,
        409,
        r#"a saved view named "busy JAVA" already exists on page "processes""#,
    );
    s.create("hosts", "busy java", json!({})).await;

    let second = s.create("processes", "Idle", json!({})).await;
    let rename = s
        .put(&second["id"], &json!({"name": "BUSY java", "state": {"x": 1}}))
        .await;
    assert_error(
        &rename,
        409,
        r#"a saved view named "BUSY java" already exists on page "processes""#,
    );
    assert_eq!(
        s.get("/api/ui/views?page=processes").await.body,
        json!({"views": [first.clone(), second.clone()]}),
        "a refused change changes nothing"
    );
    let own = s.put(&first["id"], &json!({"name": "BUSY JAVA"})).await;
    assert_eq!(
        (own.status, &own.body["name"]),
        (200, &json!("BUSY JAVA")),
        "a view may take its own name in another case"
    );
}

#[tokio::test]
async fn bad_new_views_are_400_naming_the_field_and_nothing_is_stored() {
    let s = start().await;
    let with = |page: Value, name: Value, state: Value| json!({"page": page, "name": name, "state": state});
    let cases = [
        (
            with(json!("processes"), json!(""), json!({})),
            "`name` must not be empty",
        ),
        (
            with(json!("processes"), json!(" \t "), json!({})),
            "`name` must not be empty",
        ),
        (
            with(json!("processes"), json!("x".repeat(101)), json!({})),
            "`name` is 101 characters long; the most allowed is 100",
        ),
        (
            with(json!("processes"), json!("two\nlines"), json!({})),
            "`name` must not contain control characters",
        ),
        (
            with(json!("processes"), json!(5), json!({})),
            "invalid saved view: `name`: invalid type: integer `5`, expected a string",
        ),
        (with(json!(""), json!("v"), json!({})), "`page` must not be empty"),
        (
            with(json!("Processes"), json!("v"), json!({})),
            r#"`page` may hold only a-z, 0-9, `_` and `-`, got "Processes""#,
        ),
        (
            with(json!("a/b"), json!("v"), json!({})),
            r#"`page` may hold only a-z, 0-9, `_` and `-`, got "a/b""#,
        ),
        (
            with(json!("p".repeat(51)), json!("v"), json!({})),
            "`page` is 51 characters long; the most allowed is 50",
        ),
        (
            with(json!("processes"), json!("v"), json!([1, 2])),
            "`state` must be a JSON object, got an array",
        ),
        (
            with(json!("processes"), json!("v"), json!("java")),
            "`state` must be a JSON object, got a string",
        ),
        (
            with(json!("processes"), json!("v"), Value::Null),
            "`state` must be a JSON object, got null",
        ),
        (
            json!({"page": "processes", "name": "v"}),
            "invalid saved view: missing field `state`",
        ),
        (
            json!({"page": "processes", "state": {}}),
            "invalid saved view: missing field `name`",
        ),
        (
            json!({"name": "v", "page": "processes", "state": {}, "colour": "red"}),
            "invalid saved view: unknown field `colour`, expected one of `page`, `name`, `state`",
        ),
        (
            json!(["processes", "v", {}]),
            "the body must be a JSON object, got an array",
        ),
    ];
    for (body, message) in cases {
        assert_error(&s.post(&body).await, 400, message);
    }
    assert_error(
        &s.post_raw(b"{\"page\": ".to_vec()).await,
        400,
        "the body is not valid JSON: EOF while parsing a value at line 1 column 9",
    );
    assert_error(
        &s.post_raw(br#"{"page": "processes", "name": "v", "state": {}} {}"#.to_vec())
            .await,
        400,
        "the body is not valid JSON: trailing characters at line 1 column 49",
    );
    assert_eq!(s.get("/api/ui/views").await.body, json!({"views": []}));
}

#[tokio::test]
async fn views_over_64_kib_are_413() {
    let s = start().await;
    let big = json!({"page": "processes", "name": "big", "state": {"query": "x".repeat(64 * 1024)}});
    assert_error(
        &s.post(&big).await,
        413,
        "the request body is larger than 64 KiB, the most a saved view may take",
    );
    // A body under the limit whose state grows past it when written back (1e9 → 1000000000.0).
    let numbers = vec!["1e9"; 12_000].join(",");
    let body = format!(r#"{{"page": "processes", "name": "big", "state": {{"n": [{numbers}]}}}}"#);
    assert!(body.len() < 64 * 1024);
    assert_error(
        &s.post_raw(body.into_bytes()).await,
        413,
        "`state` is 156007 bytes as JSON; the most allowed is 65536",
    );
    let view = s.create("processes", "small", json!({})).await;
    assert_error(
        &s.put(&view["id"], &json!({"state": {"query": "x".repeat(64 * 1024)}}))
            .await,
        413,
        "the request body is larger than 64 KiB, the most a saved view may take",
    );
    assert_eq!(s.names("/api/ui/views").await, ["small"]);
}

#[tokio::test]
async fn bad_changes_are_400_404_or_409_and_change_nothing() {
    let s = start().await;
    let view = s.create("processes", "v", json!({"query": "a"})).await;
    let id = view["id"].as_i64().unwrap();
    let cases = [
        (json!({}), "nothing to change: give a new `name`, a new `state` or both"),
        (
            json!({"name": null, "state": null}),
            "nothing to change: give a new `name`, a new `state` or both",
        ),
        (json!({"name": "  "}), "`name` must not be empty"),
        (json!({"state": [1]}), "`state` must be a JSON object, got an array"),
        (
            json!({"page": "hosts"}),
            "invalid saved view: unknown field `page`, expected `name` or `state`",
        ),
        (
            json!({"name": true}),
            "invalid saved view: `name`: invalid type: boolean `true`, expected a string",
        ),
    ];
    for (body, message) in cases {
        assert_error(&s.put(id, &body).await, 400, message);
    }
    assert_error(
        &s.put("abc", &json!({"name": "w"})).await,
        400,
        r#"the view id must be a whole number, got "abc""#,
    );
    assert_error(
        &s.put("1.5", &json!({"name": "w"})).await,
        400,
        r#"the view id must be a whole number, got "1.5""#,
    );
    assert_error(
        &s.put(id + 1, &json!({"name": "w"})).await,
        404,
        &format!("no saved view with id {}", id + 1),
    );
    assert_error(&s.put(-3, &json!({"name": "w"})).await, 404, "no saved view with id -3");
    assert_error(
        &s.delete("abc").await,
        400,
        r#"the view id must be a whole number, got "abc""#,
    );
    assert_error(
        &s.delete(id + 1).await,
        404,
        &format!("no saved view with id {}", id + 1),
    );
    assert_eq!(s.get("/api/ui/views").await.body, json!({"views": [view]}));
}

#[tokio::test]
async fn a_bad_page_filter_is_400() {
    let s = start().await;
    assert_error(
        &s.get("/api/ui/views?page=Live%20Processes").await,
        400,
        r#"`page` may hold only a-z, 0-9, `_` and `-`, got "Live Processes""#,
    );
}
