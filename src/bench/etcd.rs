//! `tweettui bench --target etcd`: the same closed-loop load against an
//! etcd cluster, for the side-by-side comparison (`bench/etcd-compare.sh`).
//!
//! Each client holds one keep-alive HTTP connection to one endpoint (the
//! endpoints in turn, as the tweettui clients take the sites in turn, so
//! forwarding to the leader is measured on both sides) and puts a value of
//! the same size under its own key through etcd's v3 JSON gateway
//! (`POST /v3/kv/put`), one after another. An answer 200 is a put that
//! etcd's Raft committed and applied: what a tweettui 200 is for a tweet.

use super::{BenchOptions, Report};
use anyhow::Context;
use base64::{engine::general_purpose::STANDARD, Engine};
use std::time::{Duration, Instant};

/// Runs the load against `endpoints` (`http://host:port`).
pub async fn measure(opts: &BenchOptions, endpoints: &[String]) -> anyhow::Result<Report> {
    anyhow::ensure!(
        !endpoints.is_empty(),
        "--endpoints: at least one etcd endpoint"
    );
    let value = "x".repeat(opts.size);
    warm_up(&endpoints[0], &value).await?;
    let start = Instant::now();
    let end = start + Duration::from_secs(opts.seconds);
    let mut tasks = Vec::new();
    for c in 0..opts.clients {
        let url = format!(
            "{}/v3/kv/put",
            endpoints[c % endpoints.len()].trim_end_matches('/')
        );
        let body = put_body(&format!("bench-{c}"), &value);
        tasks.push(tokio::task::spawn_blocking(move || {
            client(&url, &body, end)
        }));
    }
    let mut report = Report {
        sites: endpoints.len(),
        clients: opts.clients,
        ..Report::default()
    };
    for t in tasks {
        report.absorb(t.await.context("an etcd client failed")??);
    }
    report.elapsed = start.elapsed();
    report.latencies.sort();
    Ok(report)
}

/// The gateway's put request: key and value in base64.
fn put_body(key: &str, value: &str) -> String {
    serde_json::json!({"key": STANDARD.encode(key), "value": STANDARD.encode(value)}).to_string()
}

/// Until the cluster takes a put (it may still be electing its leader).
async fn warm_up(endpoint: &str, value: &str) -> anyhow::Result<()> {
    let url = format!("{}/v3/kv/put", endpoint.trim_end_matches('/'));
    let body = put_body("warm-up", value);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (u, b) = (url.clone(), body.clone());
        let ok =
            tokio::task::spawn_blocking(move || put(&ureq::Agent::new_with_defaults(), &u, &b))
                .await
                .is_ok_and(|r| r.is_ok());
        if ok {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "etcd at {endpoint} takes no put (is a majority of its members running?)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn put(agent: &ureq::Agent, url: &str, body: &str) -> Result<(), ureq::Error> {
    let mut resp = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)?;
    // Read the answer through, so that the connection is reused.
    resp.body_mut().read_to_string()?;
    Ok(())
}

/// One closed-loop client on its own connection until `end`.
fn client(url: &str, body: &str, end: Instant) -> anyhow::Result<Report> {
    let agent = ureq::Agent::new_with_defaults();
    let mut part = Report::default();
    while Instant::now() < end {
        let sent = Instant::now();
        match put(&agent, url, body) {
            Ok(()) => {
                part.done += 1;
                part.latencies.push(sent.elapsed());
            }
            Err(ureq::Error::StatusCode(503)) => part.unavailable += 1,
            Err(ureq::Error::StatusCode(_)) => part.errors += 1,
            Err(e) => return Err(e).with_context(|| format!("etcd at {url}")),
        }
    }
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the gateway expects (etcd's `/v3/kv/put` takes base64 bytes).
    #[test]
    fn a_put_carries_key_and_value_in_base64() {
        let body: serde_json::Value = serde_json::from_str(&put_body("k", "hi")).unwrap();
        assert_eq!(body, serde_json::json!({"key": "aw==", "value": "aGk="}));
    }
}
