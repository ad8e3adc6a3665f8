//! The pages a browser gets, over real HTTP: the web UI's `index.html` at every page path and
//! its hashed files under `/assets/` when the UI was built (`web/dist`), else the plain
//! overview that says how to build it. Both cases are checked against what this build has.

mod common;

use dogwatch_server::ui;

#[tokio::test]
async fn every_page_path_answers_with_the_ui_or_the_overview() {
    let server = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    let base = &server.base;
    let client = common::client();
    let mut script = None;
    for path in ["/", "/processes", "/hosts"] {
        let r = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers()["content-type"].to_str().unwrap().starts_with("text/html"),
            "{path}"
        );
        let body = r.text().await.unwrap();
        if ui::is_built() {
            assert!(body.contains(r#"<div id="app">"#), "{path}: {body}");
            script = body
                .split('"')
                .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
                .map(str::to_string);
        } else {
            assert!(body.contains("built without its web UI"), "{path}: {body}");
            assert!(body.contains("./scripts/up.sh"), "{path}");
        }
    }
    if ui::is_built() {
        let script = script.expect("index.html names its script under /assets/");
        let r = client.get(format!("{base}{script}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/javascript");
        assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert!(r.bytes().await.unwrap().len() > 1000);
    }
    let overview = client
        .get(format!("{base}/overview"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(overview.contains("<h2>Hosts (0)</h2>"), "{overview}");
    assert_eq!(overview.contains("Open the web UI"), ui::is_built());
    let missing = client.get(format!("{base}/assets/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("no UI file assets/nope.js"));
}
