//! `ctl`'s answers for people (stdout), its errors (stderr), and the
//! whole log and timeline fetched page by page.

use super::{Exit, Target};
use crate::site::api::{LOG_PAGE, VIEW_PAGE_MAX};
use crate::site::control::Response;
use serde_json::{json, Value as Json};

fn text(v: &Json) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Prints an answer for people: the data on stdout, a refusal on stderr.
pub fn human(head: &str, resp: &Response, names: &[String]) {
    let body = &resp.body;
    if !resp.is_ok() {
        eprintln!(
            "tweettui ctl: {} ({}): {}",
            what(resp.stat),
            resp.stat,
            text(body)
        );
        return;
    }
    match head {
        "tweet" | "block" | "unblock" => match body.get("index").and_then(Json::as_u64) {
            Some(i) if i > 0 => println!("done: slot {}, index {i}", body["slot"]),
            _ => println!("done: slot {}", body["slot"]),
        },
        "view" => {
            if body.as_array().is_none_or(Vec::is_empty) {
                println!("(no tweets)");
            }
            view_rows(body);
        }
        "blocked" => {
            let rows = body.as_array().cloned().unwrap_or_default();
            if rows.is_empty() {
                println!("(nobody blocked)");
            }
            for u in rows {
                println!("{}", text(&u));
            }
        }
        "log" => log_rows(body),
        "status" => println!("{}", status_line(body, names)),
        "fault" => println!("network filter set"),
        _ => println!("{body}"),
    }
}

/// What a refusal's code means.
fn what(stat: u16) -> &'static str {
    match Exit::of_stat(stat) {
        Exit::BadRequest => "refused as written",
        Exit::Refused => "refused",
        Exit::NotDecided => "not decided",
        _ => "the site failed",
    }
}

fn log_rows(body: &Json) {
    for e in body.as_array().cloned().unwrap_or_default() {
        let op = &e["op"];
        let (user, target) = (text(&op["user"]), text(&op["target"]));
        let what = match op["kind"].as_str() {
            Some("tweet") => format!("{user} tweets: {}", text(&op["text"])),
            Some("block") => format!("{user} blocks {target}"),
            Some("unblock") => format!("{user} unblocks {target}"),
            _ => "no-op".to_string(),
        };
        println!("slot {:>5}  {what}", e["slot"]);
    }
}

/// `alice (site 0): leader bob, 12 slots decided; peers: bob up, ...`
pub fn status_line(body: &Json, names: &[String]) -> String {
    let leader = body["leader"]
        .as_u64()
        .and_then(|l| names.get(l as usize).cloned())
        .unwrap_or_else(|| "nobody".into());
    let peers: Vec<String> = body["peers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let up = if p["connected"].as_bool() == Some(true) {
                "up"
            } else {
                "down"
            };
            format!("{} {up}", text(&p["name"]))
        })
        .collect();
    format!(
        "{} (site {}): leader {leader}, {} slots decided; peers: {}",
        text(&body["name"]),
        body["site"],
        body["decided"],
        peers.join(", ")
    )
}

/// The tweets of a `view` answer, one line each.
fn view_rows(body: &Json) {
    for t in body.as_array().map(Vec::as_slice).unwrap_or_default() {
        let (slot, time) = (&t["slot"], text(&t["time"]));
        let (user, tweet) = (text(&t["user"]), text(&t["text"]));
        // The position `view --after` takes: SLOT, or SLOT:INDEX for a
        // later tweet of a batch.
        match t["index"].as_u64() {
            Some(i) if i > 0 => println!("[{slot}:{i}] {time} @{user}: {tweet}"),
            _ => println!("[{slot}] {time} @{user}: {tweet}"),
        }
    }
}

/// `ctl SITE view`: the whole timeline, printed as it comes (`--json`:
/// one answer line per page), fetched by [`view_pages`].
pub async fn view_all(target: &Target, json_out: bool) -> anyhow::Result<Exit> {
    view_pages(target, VIEW_PAGE_MAX, |resp, first| {
        let rows = resp.body.as_array().map_or(0, Vec::len);
        if json_out && (first || rows > 0 || !resp.is_ok()) {
            println!("{}", serde_json::to_string(resp).unwrap_or_default());
        } else if !json_out && (first || !resp.is_ok()) {
            human("view", resp, &[]);
        } else if !json_out {
            view_rows(&resp.body);
        }
    })
    .await
}

/// Walks the whole timeline one page of `page` tweets per request, each
/// answer handed to `each` (with whether it is the first) as it comes, so
/// that `ctl` never holds a long timeline whole; ends after a short page or
/// a refusal. Each page is read when it is asked for: a tweet decided
/// meanwhile with an older time than the page before may show up (SPEC 8
/// `view` with no page is one answer, as of when it is read).
pub async fn view_pages(
    target: &Target,
    page: usize,
    mut each: impl FnMut(&Response, bool),
) -> anyhow::Result<Exit> {
    let mut after: Option<(u64, u64)> = None;
    loop {
        let body = match after {
            None => json!({ "limit": page }),
            Some((slot, index)) => json!({"limit": page, "after": {"slot": slot, "index": index}}),
        };
        let resp = target.call("view", body).await?;
        each(&resp, after.is_none());
        if !resp.is_ok() {
            return Ok(Exit::of_stat(resp.stat));
        }
        let rows = resp.body.as_array().map(Vec::as_slice).unwrap_or_default();
        let last = rows.last();
        match last.and_then(|t| Some((t["slot"].as_u64()?, t["index"].as_u64()?))) {
            Some(position) if rows.len() == page => after = Some(position),
            _ => return Ok(Exit::Done),
        }
    }
}

/// `ctl SITE log`: the whole decided log from `start` on, one page of
/// [`LOG_PAGE`] slots per request (so that `ctl` never holds a long log
/// whole), printed as it comes (`--json`: one answer line per page).
pub async fn log_pages(target: &Target, start: u64, json_out: bool) -> anyhow::Result<Exit> {
    let mut from = start;
    loop {
        let resp = target
            .call("log", json!({ "from": from, "limit": LOG_PAGE }))
            .await?;
        if !resp.is_ok() {
            if json_out {
                println!("{}", serde_json::to_string(&resp)?);
            } else {
                human("log", &resp, &[]);
            }
            return Ok(Exit::of_stat(resp.stat));
        }
        let last = resp.body.as_array().and_then(|rows| rows.last());
        let last = last.and_then(|row| row["slot"].as_u64());
        // --json: every page with rows, and the first even when empty.
        if json_out && (last.is_some() || from == start) {
            println!("{}", serde_json::to_string(&resp)?);
        }
        let Some(last) = last else {
            if from == start && !json_out {
                println!("(no decided slots from slot {start} on)");
            }
            return Ok(Exit::Done);
        };
        if last < from {
            anyhow::bail!("the site answered slot {last} to a request for slots from {from} on");
        }
        if !json_out {
            log_rows(&resp.body);
        }
        from = last.saturating_add(1);
    }
}
