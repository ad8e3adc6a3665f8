//! Sign-in, sessions, CSRF, the attempt limit, roles, and Datadog's key management routes,
//! over real HTTP.

mod common;

use dogwatch_server::auth::admin;
use dogwatch_store::{Role, Store};
use serde_json::{Value, json};

struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
    csrf: Option<String>,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            cookie: None,
            csrf: None,
        }
    }

    async fn login(&mut self, user: &str, password: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/ui/login", self.base))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if let Some(cookie) = response.headers().get("set-cookie") {
            let cookie = cookie.to_str().unwrap();
            assert!(
                cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
                "{cookie}"
            );
            self.cookie = Some(cookie.split(';').next().unwrap().to_string());
        }
        let body: Value = response.json().await.unwrap();
        self.csrf = body["csrf_token"].as_str().map(str::to_string);
        (status, body)
    }

    async fn request(&self, method: reqwest::Method, path: &str, csrf: bool, body: Option<Value>) -> (u16, Value) {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            r = r.header("Cookie", c);
        }
        if csrf && let Some(t) = &self.csrf {
            r = r.header("X-CSRF-Token", t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let response = r.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> u16 {
        self.request(reqwest::Method::GET, path, false, None).await.0
    }
}

async fn server_with_users() -> common::Running {
    let server = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    admin::create_user(server.store.as_ref(), "ann", Role::Standard, "ann-password").unwrap();
    admin::create_user(server.store.as_ref(), "rob", Role::ReadOnly, "rob-password").unwrap();
    server.reload_auth();
    server
}

fn view() -> Value {
    json!({"page": "processes", "name": "mine", "state": {"query": "java"}})
}

#[tokio::test]
async fn sign_in_reads_and_sign_out_ends_the_session_for_good() {
    let server = server_with_users().await;
    let mut b = Browser::new(&server.base);
    assert_eq!(b.get("/api/ui/hosts").await, 401, "no session yet");
    let (status, body) = b.login("ann", "ann-password").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["user"]["name"].as_str(), body["user"]["role"].as_str()),
        (Some("ann"), Some("standard"))
    );
    assert_eq!(b.get("/api/ui/hosts").await, 200);
    assert_eq!(
        b.get("/api/v1/query?from=0&to=1&query=avg:m{*}").await,
        200,
        "the session reads the public API too"
    );
    let (status, me) = b.request(reqwest::Method::GET, "/api/ui/me", false, None).await;
    assert_eq!((status, me["has_password"].as_bool()), (200, Some(true)));
    let stolen = b.cookie.clone();
    let (status, _) = b.request(reqwest::Method::POST, "/api/ui/logout", false, None).await;
    assert_eq!(status, 204);
    let mut thief = Browser::new(&server.base);
    thief.cookie = stolen;
    assert_eq!(
        thief.get("/api/ui/hosts").await,
        401,
        "a stolen cookie is refused after sign-out"
    );
}

#[tokio::test]
async fn wrong_credentials_get_one_answer_that_names_neither_part() {
    let server = server_with_users().await;
    let mut b = Browser::new(&server.base);
    let (s1, wrong_password) = b.login("ann", "nope-nope").await;
    let (s2, unknown_user) = b.login("nobody", "ann-password").await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong_password, unknown_user);
    assert_eq!(wrong_password, json!({"errors": ["Invalid username or password"]}));
    let response = b
        .client
        .post(format!("{}/api/ui/login", server.base))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn the_eleventh_bad_password_within_a_minute_is_refused_even_when_right() {
    let server = server_with_users().await;
    let mut b = Browser::new(&server.base);
    for _ in 0..10 {
        assert_eq!(b.login("rob", "wrong-password").await.0, 401);
    }
    let (status, body) = b.login("rob", "rob-password").await;
    assert_eq!(status, 429, "{body}");
    assert!(body["errors"][0].as_str().unwrap().contains("Too many"));
}

#[tokio::test]
async fn state_changing_calls_with_a_session_need_the_csrf_token() {
    let server = server_with_users().await;
    let mut b = Browser::new(&server.base);
    b.login("ann", "ann-password").await;
    let (status, body) = b
        .request(reqwest::Method::POST, "/api/ui/views", false, Some(view()))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["errors"][0].as_str().unwrap().contains("CSRF"));
    let (status, body) = b
        .request(reqwest::Method::POST, "/api/ui/views", true, Some(view()))
        .await;
    assert_eq!(status, 201, "{body}");
    b.csrf = Some("0".repeat(32));
    assert_eq!(
        b.request(reqwest::Method::POST, "/api/ui/views", true, Some(view()))
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn read_only_users_read_but_do_not_write_and_disabled_users_do_neither() {
    let server = server_with_users().await;
    let mut b = Browser::new(&server.base);
    b.login("rob", "rob-password").await;
    assert_eq!(b.get("/api/ui/views").await, 200);
    let (status, body) = b
        .request(reqwest::Method::POST, "/api/ui/views", true, Some(view()))
        .await;
    assert_eq!(status, 403);
    assert!(
        body["errors"][0].as_str().unwrap().contains("Datadog Standard Role"),
        "{body}"
    );
    assert_eq!(b.get("/api/v2/api_keys").await, 403, "keys are for admins");
    let rob = server
        .store
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.name == "rob")
        .unwrap();
    server
        .store
        .update_user(
            rob.id,
            &dogwatch_store::UserChange {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    server.reload_auth();
    assert_eq!(
        b.get("/api/ui/views").await,
        401,
        "a disabled user's session stops working"
    );
    assert_eq!(Browser::new(&server.base).login("rob", "rob-password").await.0, 401);
}

#[tokio::test]
async fn malformed_cookies_and_oversized_headers_get_refused_and_nothing_else() {
    let server = server_with_users().await;
    let client = reqwest::Client::new();
    for cookie in [
        "dogwatch_session=%%%",
        "dogwatch_session=",
        "garbage",
        &format!("dogwatch_session={}", "f".repeat(64)),
    ] {
        let r = client
            .get(format!("{}/api/ui/hosts", server.base))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap();
        assert!(matches!(r.status().as_u16(), 401 | 403), "{cookie}: {}", r.status());
    }
    let r = client
        .get(format!("{}/api/ui/hosts", server.base))
        .header("DD-API-KEY", "k".repeat(100_000))
        .header("DD-APPLICATION-KEY", "a".repeat(100_000))
        .send()
        .await;
    match r {
        Ok(r) => assert!(matches!(r.status().as_u16(), 403 | 431), "{}", r.status()),
        Err(e) => assert!(e.is_request() || e.is_connect() || e.is_body(), "{e}"),
    }
}

#[tokio::test]
async fn datadogs_key_routes_create_show_once_list_by_last4_and_revoke() {
    let server = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    let c = common::client();
    let created: Value = c
        .post(format!("{}/api/v2/api_keys", server.base))
        .json(&json!({"data": {"type": "api_keys", "attributes": {"name": "agents"}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["data"]["attributes"]["key"].as_str().unwrap().to_string();
    let id = created["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["data"]["attributes"]["last4"], json!(&key[28..]));
    let validate = |k: String| {
        let base = server.base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/validate"))
                .header("DD-API-KEY", k)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(validate(key.clone()).await, 200, "a new key works at once");
    let listed: Value = c
        .get(format!("{}/api/v2/api_keys", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!listed.to_string().contains(&key), "the list never shows a key whole");
    assert!(listed["data"].as_array().unwrap().iter().any(|k| k["id"] == json!(id)));
    let deleted = c
        .delete(format!("{}/api/v2/api_keys/{id}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(validate(key).await, 403, "a revoked key stops at once");

    let app: Value = c
        .post(format!("{}/api/v2/current_user/application_keys", server.base))
        .json(&json!({"data": {"type": "application_keys", "attributes": {"name": "ci"}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app_key = app["data"]["attributes"]["key"].as_str().unwrap().to_string();
    assert_eq!(app_key.len(), 40);
    let with_new = reqwest::Client::new()
        .get(format!("{}/api/ui/hosts", server.base))
        .header("DD-API-KEY", common::KEY)
        .header("DD-APPLICATION-KEY", &app_key)
        .send()
        .await
        .unwrap();
    assert_eq!(with_new.status(), 200);
    let mine: Value = c
        .get(format!("{}/api/v2/current_user/application_keys", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["data"].as_array().unwrap().len(), 2);
    assert!(!mine.to_string().contains(&app_key));
}
