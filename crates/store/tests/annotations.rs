//! User-set host tags and metric metadata in the SQLite store: appended or replaced per
//! source, deleted per source, kept across a reopen, and added to a store made before them.

use dogwatch_store::{MetricMetadata, SqliteStore, Store, TagWrite, UserHostTag};

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

fn rows(store: &SqliteStore, host: Option<&str>) -> Vec<(String, String, String)> {
    store
        .user_host_tags(host)
        .unwrap()
        .into_iter()
        .map(|UserHostTag { host, source, tag }| (host, source, tag))
        .collect()
}

fn row(host: &str, source: &str, tag: &str) -> (String, String, String) {
    (host.into(), source.into(), tag.into())
}

#[test]
fn host_tags_append_once_replace_per_source_and_delete_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dogwatch.db")).unwrap();
    store
        .set_user_host_tags("web-1", "user", &tags(&["role:web", "team:a"]), TagWrite::Append, 1)
        .unwrap();
    store
        .set_user_host_tags("web-1", "user", &tags(&["team:a", "tier:1"]), TagWrite::Append, 2)
        .unwrap();
    store
        .set_user_host_tags("web-1", "chef", &tags(&["cookbook:nginx"]), TagWrite::Append, 3)
        .unwrap();
    store
        .set_user_host_tags("db-1", "user", &tags(&["role:db"]), TagWrite::Append, 4)
        .unwrap();
    assert_eq!(
        rows(&store, Some("web-1")),
        vec![
            row("web-1", "chef", "cookbook:nginx"),
            row("web-1", "user", "role:web"),
            row("web-1", "user", "team:a"),
            row("web-1", "user", "tier:1"),
        ]
    );
    store
        .set_user_host_tags("web-1", "user", &tags(&["role:api"]), TagWrite::Replace, 5)
        .unwrap();
    assert_eq!(
        rows(&store, Some("web-1")),
        vec![row("web-1", "chef", "cookbook:nginx"), row("web-1", "user", "role:api")]
    );
    assert_eq!(store.delete_user_host_tags("web-1", "user").unwrap(), 1);
    assert_eq!(store.delete_user_host_tags("web-1", "user").unwrap(), 0);
    assert_eq!(
        rows(&store, None),
        vec![row("db-1", "user", "role:db"), row("web-1", "chef", "cookbook:nginx")]
    );
    drop(store);
    let store = SqliteStore::open(&dir.path().join("dogwatch.db")).unwrap();
    assert_eq!(rows(&store, None).len(), 2, "kept across a reopen");
}

#[test]
fn metric_metadata_is_stored_whole_and_merged_by_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dogwatch.db")).unwrap();
    assert_eq!(store.metric_metadata("app.bytes").unwrap(), None);
    let first = MetricMetadata {
        kind: Some("gauge".into()),
        unit: Some("byte".into()),
        description: Some("bytes sent".into()),
        ..Default::default()
    };
    store.set_metric_metadata("app.bytes", &first, 1).unwrap();
    let change = MetricMetadata {
        per_unit: Some("second".into()),
        kind: Some("rate".into()),
        ..Default::default()
    };
    let merged = first.merged(&change);
    store.set_metric_metadata("app.bytes", &merged, 2).unwrap();
    assert_eq!(
        store.metric_metadata("app.bytes").unwrap(),
        Some(MetricMetadata {
            kind: Some("rate".into()),
            unit: Some("byte".into()),
            per_unit: Some("second".into()),
            description: Some("bytes sent".into()),
            ..Default::default()
        })
    );
}

#[test]
fn a_store_made_before_the_annotation_tables_gains_them_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dogwatch.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE user_host_tags; DROP TABLE metric_metadata;")
        .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    store
        .set_user_host_tags("web-1", "user", &tags(&["role:web"]), TagWrite::Append, 1)
        .unwrap();
    assert_eq!(rows(&store, None), vec![row("web-1", "user", "role:web")]);
}
