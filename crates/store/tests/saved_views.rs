//! Saved views of the web UI in the SQLite store: create, list, rename, replace, delete, and
//! names unique per page ignoring case.

use dogwatch_store::{NewSavedView, SavedView, SavedViewChange, SqliteStore, Store, StoreError};
use serde_json::json;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dogwatch.db")).unwrap();
    (dir, store)
}

fn new_view(page: &str, name: &str, state: serde_json::Value) -> NewSavedView {
    NewSavedView {
        page: page.into(),
        name: name.into(),
        state,
    }
}

fn create(store: &SqliteStore, page: &str, name: &str) -> SavedView {
    store
        .create_saved_view(&new_view(page, name, json!({"query": name})), 1_000)
        .unwrap()
}

fn names(views: &[SavedView]) -> Vec<&str> {
    views.iter().map(|v| v.name.as_str()).collect()
}

#[test]
fn a_created_view_is_listed_with_its_state_and_times() {
    let (_dir, store) = store();
    let state = json!({"query": "java", "columns": ["host", "cpu"], "group_by": ["service"], "viz": "table"});
    let view = store
        .create_saved_view(&new_view("processes", "Java CPU", state.clone()), 1_700_000_000_000)
        .unwrap();
    assert_eq!(
        view,
        SavedView {
            id: view.id,
            page: "processes".into(),
            name: "Java CPU".into(),
            state,
            created_ms: 1_700_000_000_000,
            updated_ms: 1_700_000_000_000,
        }
    );
    assert_eq!(store.saved_views(None).unwrap(), std::slice::from_ref(&view));
    assert_eq!(store.saved_views(Some("processes")).unwrap(), [view]);
}

#[test]
fn views_are_listed_by_name_ignoring_case_then_by_id() {
    let (_dir, store) = store();
    create(&store, "processes", "beta");
    create(&store, "processes", "Alpha");
    create(&store, "processes", "gamma");
    create(&store, "hosts", "alpha");
    create(&store, "processes", "Beta 2");
    let all = store.saved_views(None).unwrap();
    assert_eq!(names(&all), ["Alpha", "alpha", "beta", "Beta 2", "gamma"]);
    assert!(all[0].id < all[1].id, "equal names (ignoring case) come by id");
    assert_eq!(
        names(&store.saved_views(Some("processes")).unwrap()),
        ["Alpha", "beta", "Beta 2", "gamma"]
    );
    assert_eq!(names(&store.saved_views(Some("hosts")).unwrap()), ["alpha"]);
    assert!(store.saved_views(Some("nothing")).unwrap().is_empty());
}

#[test]
fn a_rename_keeps_the_state_and_moves_the_update_time() {
    let (_dir, store) = store();
    let view = create(&store, "processes", "old");
    let change = SavedViewChange {
        name: Some("new".into()),
        state: None,
    };
    let renamed = store.update_saved_view(view.id, &change, 2_000).unwrap().unwrap();
    assert_eq!(
        renamed,
        SavedView {
            name: "new".into(),
            updated_ms: 2_000,
            ..view.clone()
        }
    );
    assert_eq!(store.saved_views(None).unwrap(), [renamed]);
}

#[test]
fn a_new_state_replaces_the_old_one_whole() {
    let (_dir, store) = store();
    let view = store
        .create_saved_view(&new_view("processes", "v", json!({"query": "a", "sort": "cpu"})), 1_000)
        .unwrap();
    let change = SavedViewChange {
        name: None,
        state: Some(json!({"query": "b"})),
    };
    let updated = store.update_saved_view(view.id, &change, 3_000).unwrap().unwrap();
    assert_eq!((updated.name.as_str(), &updated.state), ("v", &json!({"query": "b"})));
    assert_eq!((updated.created_ms, updated.updated_ms), (1_000, 3_000));
    assert_eq!(store.saved_views(None).unwrap(), [updated]);
}

#[test]
fn a_name_taken_on_the_same_page_is_refused_ignoring_case() {
    let (_dir, store) = store();
    create(&store, "processes", "Busy Java");
    let err = store
        .create_saved_view(&new_view("processes", "busy JAVA", json!({})), 2_000)
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NameTaken { page, name } if page == "processes" && name == "busy JAVA"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        r#"a saved view named "busy JAVA" already exists on page "processes""#
    );
    assert_eq!(names(&store.saved_views(None).unwrap()), ["Busy Java"]);
}

#[test]
fn the_same_name_may_be_used_on_another_page() {
    let (_dir, store) = store();
    create(&store, "processes", "mine");
    create(&store, "hosts", "MINE");
    assert_eq!(store.saved_views(None).unwrap().len(), 2);
}

#[test]
fn a_rename_onto_a_taken_name_is_refused_and_changes_nothing() {
    let (_dir, store) = store();
    create(&store, "processes", "first");
    let second = create(&store, "processes", "second");
    let change = SavedViewChange {
        name: Some("FIRST".into()),
        state: Some(json!({"query": "changed"})),
    };
    let err = store.update_saved_view(second.id, &change, 2_000).unwrap_err();
    assert!(
        matches!(&err, StoreError::NameTaken { name, .. } if name == "FIRST"),
        "{err:?}"
    );
    assert_eq!(store.saved_views(Some("processes")).unwrap()[1], second);
}

#[test]
fn a_view_may_be_renamed_to_its_own_name_in_another_case() {
    let (_dir, store) = store();
    let view = create(&store, "processes", "cpu hogs");
    let change = SavedViewChange {
        name: Some("CPU Hogs".into()),
        state: None,
    };
    let renamed = store.update_saved_view(view.id, &change, 2_000).unwrap().unwrap();
    assert_eq!(renamed.name, "CPU Hogs");
}

#[test]
fn a_deleted_view_is_gone_and_its_name_free_and_its_id_not_reused() {
    let (_dir, store) = store();
    let kept = create(&store, "processes", "kept");
    let view = create(&store, "processes", "gone");
    assert!(store.delete_saved_view(view.id).unwrap());
    assert_eq!(store.saved_views(None).unwrap(), [kept]);
    assert!(
        !store.delete_saved_view(view.id).unwrap(),
        "a second delete finds nothing"
    );
    let again = create(&store, "processes", "gone");
    assert!(again.id > view.id, "the newest id, once deleted, is not given again");
}

#[test]
fn unknown_ids_are_reported_and_change_nothing() {
    let (_dir, store) = store();
    let view = create(&store, "processes", "v");
    let change = SavedViewChange {
        name: Some("w".into()),
        state: None,
    };
    assert_eq!(store.update_saved_view(view.id + 1, &change, 2_000).unwrap(), None);
    assert!(!store.delete_saved_view(view.id + 1).unwrap());
    assert_eq!(store.saved_views(None).unwrap(), [view]);
}

#[test]
fn views_survive_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dogwatch.db");
    let view = {
        let store = SqliteStore::open(&path).unwrap();
        let view = store
            .create_saved_view(
                &new_view(
                    "processes",
                    "kept",
                    json!({"query": "x", "nested": {"a": [1, 2.5, null]}}),
                ),
                1,
            )
            .unwrap();
        store.flush().unwrap();
        view
    };
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.saved_views(None).unwrap(), [view]);
    let err = reopened
        .create_saved_view(&new_view("processes", "KEPT", json!({})), 2)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NameTaken { .. }),
        "the unique constraint survives: {err:?}"
    );
}

#[test]
fn a_data_directory_from_before_saved_views_gets_the_table_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dogwatch.db");
    drop(SqliteStore::open(&path).unwrap());
    // What an older version left behind: its tables, without `saved_views`.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TABLE saved_views")
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let view = create(&store, "processes", "after upgrade");
    assert_eq!(store.saved_views(None).unwrap(), [view]);
}
