//! Tests of the runtime itself: a site that cannot apply a slot, `log`
//! and `view` answers (the disk tests are in `disk.rs`).

use super::*;
use crate::site::api::{ViewPage, LOG_PAGE};

/// A one-site cluster (it decides alone) with its data dir in `root`.
fn alone(root: &std::path::Path) -> SiteOptions {
    SiteOptions {
        config: Config::loopback(1).unwrap(),
        site: 0,
        data_dir: root.join("alice"),
        record: None,
    }
}

fn slots(reply: &Reply) -> Vec<u64> {
    match reply {
        Ok(Answer::Log(entries)) => entries.iter().map(|e| e.slot).collect(),
        other => panic!("not a log page: {other:?}"),
    }
}

/// A decided slot that cannot be applied is an error (the site stops
/// with it), logged with the slot and why.
#[test]
fn a_slot_that_cannot_be_applied_is_an_error_and_logged() {
    let mut state = State::new(vec!["alice".into(), "bob".into()]);
    let (result, logs) = crate::logs::captured(|| {
        apply_decided(
            &mut state,
            "alice",
            &[(0, Value::noop()), (3, Value::noop())],
        )
    });
    let err = result.expect_err("slot 3 is not the next one").to_string();
    assert_eq!(
        err,
        "cannot apply decided slot 3: slot 3 applied out of order: the next slot to apply is 1"
    );
    assert!(
        logs.contains("ERROR") && logs.contains("site alice cannot apply decided slot 3: slot 3"),
        "{logs}"
    );
    // The slot before it was applied.
    assert_eq!(state.next_slot(), 1);
    // The next slot applies, one already held is skipped, and nothing
    // is logged.
    let (result, logs) = crate::logs::captured(|| {
        apply_decided(
            &mut state,
            "alice",
            &[(0, Value::noop()), (1, Value::noop())],
        )
    });
    assert!(result.is_ok() && logs.is_empty(), "{result:?} {logs}");
    assert_eq!(state.next_slot(), 2);
}

/// `log` answers a window of the decided log when the UI asks for one,
/// and everything from `from` on otherwise.
#[tokio::test]
async fn log_answers_the_window_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let site = start(alone(dir.path()), None).await.unwrap();
    for i in 0..5 {
        let reply = site.client.request(Request::Tweet(format!("t{i}"))).await;
        assert_eq!(reply, Ok(Answer::Decided { slot: i, index: 0 }));
    }
    let log = |from, to| {
        let reply = site.client.request(Request::Log { from, to });
        async { Answer::whole(reply.await).await }
    };
    assert_eq!(slots(&log(None, None).await), [0, 1, 2, 3, 4]);
    assert_eq!(slots(&log(Some(3), None).await), [3, 4]);
    assert_eq!(slots(&log(Some(1), Some(3)).await), [1, 2]);
    assert_eq!(slots(&log(Some(4), Some(1000)).await), [4]);
    assert_eq!(slots(&log(Some(9), Some(1000)).await), Vec::<u64>::new());
    site.stop().await.unwrap();
}

/// SPEC 8 `view` with `{"limit", "after"}`: pages of the timeline,
/// walked one after another, are the whole timeline; a page after a
/// position that holds no tweet is refused with 400.
#[tokio::test]
async fn view_pages_walk_the_whole_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let site = start(alone(dir.path()), None).await.unwrap();
    // Some slots hold several tweets (a batch), so pages cut batches.
    for round in 0..5 {
        let asks = (0..5).map(|i| {
            let text = format!("t{round}-{i}");
            site.client.request(Request::Tweet(text))
        });
        for reply in futures::future::join_all(asks).await {
            assert!(matches!(reply, Ok(Answer::Decided { .. })), "{reply:?}");
        }
    }
    let view = |page| site.client.request(Request::View(page));
    let Ok(Answer::View(all)) = Answer::whole(view(None).await).await else {
        panic!("no timeline")
    };
    assert_eq!(all.len(), 25);
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = Some(ViewPage { limit: 4, after });
        let Ok(Answer::View(tweets)) = view(page).await else {
            panic!("no page")
        };
        assert!(tweets.len() <= 4);
        let Some(last) = tweets.last() else { break };
        after = Some((last.slot, last.index));
        walked.extend(tweets);
    }
    assert_eq!(walked, all);
    for (slot, index) in [(0, 99), (1_000, 0)] {
        let page = Some(ViewPage {
            limit: 4,
            after: Some((slot, index)),
        });
        let reply = view(page).await;
        assert_eq!(reply.map_err(|r| r.stat), Err(400));
    }
    site.stop().await.unwrap();
}

/// SPEC 8 `view` with no page, through the control endpoint: a timeline of
/// several chunks comes as one answer line, every tweet once, newest
/// first, the same as its pages walked one after another.
#[tokio::test]
async fn the_whole_timeline_comes_in_one_line_from_chunks() {
    use crate::site::api::{VIEW_CHUNK, VIEW_PAGE_MAX};
    use crate::site::control;
    let dir = tempfile::tempdir().unwrap();
    let site = start(alone(dir.path()), None).await.unwrap();
    let n = 2 * VIEW_CHUNK + 17;
    let asks = (0..n).map(|i| site.client.request(Request::Tweet(format!("t{i}"))));
    for reply in futures::future::join_all(asks).await {
        assert!(matches!(reply, Ok(Answer::Decided { .. })), "{reply:?}");
    }
    // Read in chunks, never whole.
    let Ok(Answer::Timeline(mut stream)) = site.client.request(Request::View(None)).await else {
        panic!("not a streamed timeline")
    };
    assert_eq!(stream.next().await.unwrap().items.len(), VIEW_CHUNK);
    drop(stream);
    let (addr, serving) = control::serve_on_free_port(site.client.clone()).await;
    let whole = control::call(addr, "view", serde_json::Value::Null)
        .await
        .unwrap();
    assert!(whole.is_ok(), "{whole:?}");
    let rows = whole.body.as_array().unwrap();
    assert_eq!(rows.len(), n);
    let page = ViewPage {
        limit: VIEW_PAGE_MAX,
        after: None,
    };
    let paged = control::to_wire(&site.client.request(Request::View(Some(page))).await);
    assert_eq!(whole.body, paged.body);
    let mut texts: Vec<_> = rows.iter().map(|t| t["text"].as_str().unwrap()).collect();
    texts.sort_unstable();
    texts.dedup();
    assert_eq!(texts.len(), n, "every tweet once");
    serving.abort();
    site.stop().await.unwrap();
}

/// SPEC 8 `log` with no limit, through the control endpoint: every decided
/// slot from `from` on in one answer line, however many pages of the
/// archive it takes; the same as the pages of `{"from", "limit"}` walked.
#[tokio::test]
async fn the_whole_log_comes_in_one_line_from_pages() {
    use crate::site::control;
    let dir = tempfile::tempdir().unwrap();
    let site = start(alone(dir.path()), None).await.unwrap();
    // One at a time: a slot each, more than a page of them.
    let n = LOG_PAGE + 50;
    for i in 0..n {
        let reply = site.client.request(Request::Tweet(format!("t{i}"))).await;
        assert_eq!(reply, Ok(Answer::Decided { slot: i, index: 0 }));
    }
    let (addr, serving) = control::serve_on_free_port(site.client.clone()).await;
    for from in [0, 7, n - 1, n, n + 5] {
        let whole = control::call(addr, "log", serde_json::json!({ "from": from }))
            .await
            .unwrap();
        assert!(whole.is_ok(), "{whole:?}");
        let rows = whole.body.as_array().unwrap();
        let slots: Vec<u64> = rows.iter().map(|r| r["slot"].as_u64().unwrap()).collect();
        assert_eq!(slots, (from..n).collect::<Vec<_>>(), "from {from}");
        let mut paged = Vec::new();
        let mut next = from;
        loop {
            let body = serde_json::json!({"from": next, "limit": 400});
            let page = control::call(addr, "log", body).await.unwrap();
            let rows = page.body.as_array().unwrap().clone();
            let Some(last) = rows.last() else { break };
            next = last["slot"].as_u64().unwrap() + 1;
            paged.extend(rows);
        }
        assert_eq!(whole.body, serde_json::Value::Array(paged), "from {from}");
    }
    let null = control::call(addr, "log", serde_json::Value::Null)
        .await
        .unwrap();
    assert_eq!(null.body.as_array().map(Vec::len), Some(n as usize));
    serving.abort();
    site.stop().await.unwrap();
}
