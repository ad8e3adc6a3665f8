//! APM spans and stats in the SQLite store: assembling traces, newest-first scans with
//! filters and cursors, stats windows and pruning.

use dogwatch_store::{Applied, IntakeBatch, Records, SpanRow, SpanScan, SqliteStore, StatsQuery, StatsRow, Store};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dogwatch.db")).unwrap();
    (dir, store)
}

fn span(trace_id: u64, span_id: u64, parent_id: u64, service: &str, start: i64) -> SpanRow {
    SpanRow {
        trace_id,
        trace_id_high: 0x6740aa3b00000000,
        span_id,
        parent_id,
        start,
        duration: 1_000,
        top_level: parent_id == 0,
        service: service.into(),
        name: "op".into(),
        resource: format!("GET /{service}"),
        kind: "web".into(),
        host: "web-1".into(),
        env: "dev".into(),
        meta: [("http.status_code".to_string(), "200".to_string())].into(),
        metrics: [("_sampling_priority_v1".to_string(), 1.0)].into(),
        ..Default::default()
    }
}

fn ingest(store: &SqliteStore, id: &str, records: Records) -> Applied {
    store
        .ingest(IntakeBatch {
            payload_id: Some(id.into()),
            received_at_ms: 0,
            records,
        })
        .unwrap()
}

#[test]
fn a_trace_is_assembled_from_spans_that_arrive_apart() {
    let (_dir, store) = store();
    let ids = [u64::MAX, 1u64 << 63];
    ingest(&store, "a", Records::Spans(vec![span(ids[0], 2, 1, "calendar", 20)]));
    ingest(
        &store,
        "b",
        Records::Spans(vec![span(ids[0], 1, 0, "notes", 10), span(ids[1], 9, 0, "x", 5)]),
    );
    assert_eq!(
        ingest(&store, "b", Records::Spans(vec![span(ids[0], 1, 0, "notes", 10)])),
        Applied::Duplicate
    );
    let trace = store.trace_spans(ids[0]).unwrap();
    assert_eq!(trace.iter().map(|s| s.span_id).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(trace[0], span(ids[0], 1, 0, "notes", 10));
    assert_eq!(store.trace_spans(ids[1]).unwrap().len(), 1);
    assert!(store.trace_spans(12345).unwrap().is_empty());
}

#[test]
fn scans_are_newest_first_with_filters_and_cursors() {
    let (_dir, store) = store();
    let mut spans = Vec::new();
    for i in 0..10u64 {
        let mut s = span(
            100 + i,
            i + 1,
            if i % 2 == 0 { 0 } else { 7 },
            if i < 5 { "notes" } else { "calendar" },
            1000 + i as i64,
        );
        s.error = i == 3;
        spans.push(s);
    }
    ingest(&store, "a", Records::Spans(spans));
    let scan = |scan: SpanScan| store.scan_spans(&scan).unwrap();
    let all = scan(SpanScan {
        from_ns: 0,
        to_ns: i64::MAX,
        limit: 4,
        ..Default::default()
    });
    assert_eq!(
        all.iter().map(|(_, s)| s.start).collect::<Vec<_>>(),
        vec![1009, 1008, 1007, 1006]
    );
    let next = scan(SpanScan {
        from_ns: 0,
        to_ns: i64::MAX,
        limit: 4,
        before: Some(all[3].0),
        ..Default::default()
    });
    assert_eq!(
        next.iter().map(|(_, s)| s.start).collect::<Vec<_>>(),
        vec![1005, 1004, 1003, 1002]
    );
    let oldest = scan(SpanScan {
        from_ns: 0,
        to_ns: i64::MAX,
        limit: 3,
        oldest_first: true,
        ..Default::default()
    });
    assert_eq!(
        oldest.iter().map(|(_, s)| s.start).collect::<Vec<_>>(),
        vec![1000, 1001, 1002]
    );
    let after = scan(SpanScan {
        from_ns: 0,
        to_ns: i64::MAX,
        limit: 3,
        oldest_first: true,
        before: Some(oldest[2].0),
        service: Some("notes".into()),
        ..Default::default()
    });
    assert_eq!(
        after.iter().map(|(_, s)| s.start).collect::<Vec<_>>(),
        vec![1003, 1004],
        "oldest first, the cursor continues after the last one returned"
    );
    let notes = scan(SpanScan {
        from_ns: 0,
        to_ns: i64::MAX,
        limit: 100,
        service: Some("notes".into()),
        top_level_only: true,
        ..Default::default()
    });
    assert_eq!(
        notes.iter().map(|(_, s)| s.start).collect::<Vec<_>>(),
        vec![1004, 1002, 1000]
    );
    let errors = scan(SpanScan {
        from_ns: 0,
        to_ns: i64::MAX,
        limit: 100,
        errors_only: true,
        ..Default::default()
    });
    assert_eq!(errors.len(), 1);
    assert!(errors[0].1.error);
    let window = scan(SpanScan {
        from_ns: 1002,
        to_ns: 1004,
        limit: 100,
        env: Some("dev".into()),
        ..Default::default()
    });
    assert_eq!(window.len(), 2);
    assert!(
        scan(SpanScan {
            from_ns: 0,
            to_ns: i64::MAX,
            limit: 100,
            env: Some("prod".into()),
            ..Default::default()
        })
        .is_empty()
    );
}

#[test]
fn stats_are_read_by_window_and_spans_pruned_by_age() {
    let (_dir, store) = store();
    let row = |bucket_start: i64, resource: &str| StatsRow {
        bucket_start,
        bucket_duration: 10,
        service: "notes".into(),
        resource: resource.into(),
        hits: 3,
        errors: 1,
        top_level_hits: 3,
        duration: 300,
        ok_summary: vec![1, 2, 3],
        ..Default::default()
    };
    ingest(
        &store,
        "s",
        Records::ApmStats(vec![row(0, "a"), row(10, "b"), row(20, "a")]),
    );
    let read = store
        .apm_stats(&StatsQuery {
            from_ns: 10,
            to_ns: 30,
            resource: Some("a".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(read, vec![row(20, "a")]);
    ingest(
        &store,
        "t",
        Records::Spans(vec![span(1, 1, 0, "notes", 5), span(2, 2, 0, "notes", 50)]),
    );
    assert_eq!(store.prune_apm(15).unwrap(), 3);
    assert!(store.trace_spans(1).unwrap().is_empty());
    assert_eq!(store.trace_spans(2).unwrap().len(), 1);
}
