//! `ctl cluster`: every site of the config that this host can reach, one
//! row each (etcdctl's `endpoint status --cluster -w table` is the model).

use super::{is_this_host, Exit, Target};
use crate::config::Config;
use serde_json::{json, Value as Json};
use std::time::Duration;

/// What one site said, or why it could not.
struct Row {
    name: String,
    addr: String,
    status: Result<Json, String>,
}

/// Asks every site of this host for its status (at once, a second each)
/// and prints one table; exit 0 when every site of this host answered.
pub async fn run(config: &Config, json_out: bool) -> anyhow::Result<Exit> {
    let mut asks = Vec::new();
    for (i, site) in config.sites.iter().enumerate() {
        let here = is_this_host(&site.addr);
        let target = Target::of(config, i).ok().map(|mut t| {
            t.patience = Duration::from_secs(1);
            t
        });
        asks.push(tokio::spawn(async move {
            let Some(t) = target.filter(|_| here) else {
                return Err("on another host: run ctl there".to_string());
            };
            t.check_identity().await.map_err(|e| {
                match super::exit_of(&e) {
                    Exit::Unreachable => "down",
                    Exit::WrongSite => "another site answers at its control port",
                    _ => "no answer",
                }
                .to_string()
            })
        }));
    }
    let mut rows = Vec::new();
    for (site, ask) in config.sites.iter().zip(asks) {
        let status = ask.await.unwrap_or_else(|e| Err(format!("{e}")));
        rows.push(Row {
            name: site.name.clone(),
            addr: format!("{}:{}", site.addr, site.port),
            status,
        });
    }
    let all_here_up = config
        .sites
        .iter()
        .zip(&rows)
        .all(|(s, r)| !is_this_host(&s.addr) || r.status.is_ok());
    if json_out {
        let out: Vec<Json> = rows
            .iter()
            .map(|r| match &r.status {
                Ok(s) => json!({"name": r.name, "addr": r.addr, "up": true, "status": s}),
                Err(e) => json!({"name": r.name, "addr": r.addr, "up": false, "error": e}),
            })
            .collect();
        println!("{}", Json::Array(out));
    } else {
        print!("{}", table(&rows, &config.names()));
    }
    Ok(if all_here_up {
        Exit::Done
    } else {
        Exit::Unreachable
    })
}

/// `2.bob`: a ballot as the log grid writes it.
fn ballot(b: &Json, names: &[String]) -> String {
    match (b["round"].as_u64(), b["site"].as_u64()) {
        (Some(r), Some(s)) => {
            let who = names.get(s as usize).map_or("?", String::as_str);
            format!("{r}.{who}")
        }
        _ => "-".to_string(),
    }
}

fn table(rows: &[Row], names: &[String]) -> String {
    let mut cells = vec![[
        "SITE", "ADDRESS", "UP", "LEADER", "BALLOT", "DECIDED", "MEMBER", "PEERS UP",
    ]
    .map(String::from)];
    for r in rows {
        cells.push(match &r.status {
            Ok(s) => {
                let leader = s["leader"]
                    .as_u64()
                    .and_then(|l| names.get(l as usize).cloned())
                    .unwrap_or_else(|| "-".into());
                let peers = s["peers"].as_array().cloned().unwrap_or_default();
                let up = peers.iter().filter(|p| p["connected"] == true).count();
                [
                    r.name.clone(),
                    r.addr.clone(),
                    "up".into(),
                    leader,
                    ballot(&s["ballot"], names),
                    s["decided"].to_string(),
                    s["membership"].as_str().unwrap_or("voting").to_string(),
                    format!("{up}/{}", peers.len()),
                ]
            }
            Err(e) => [
                r.name.clone(),
                r.addr.clone(),
                e.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        });
    }
    let widths: Vec<usize> = (0..8)
        .map(|c| {
            cells
                .iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_site_and_says_why_one_is_missing() {
        let names: Vec<String> = ["alice", "bob"].map(String::from).to_vec();
        let rows = vec![
            Row {
                name: "alice".into(),
                addr: "127.0.0.1:9000".into(),
                status: Ok(
                    json!({"site": 0, "name": "alice", "decided": 7, "leader": 1,
                    "ballot": {"round": 3, "site": 1}, "membership": "voting",
                    "peers": [{"site": 1, "name": "bob", "connected": true}]}),
                ),
            },
            Row {
                name: "bob".into(),
                addr: "10.0.0.2:9001".into(),
                status: Err("on another host: run ctl there".into()),
            },
        ];
        assert_eq!(
            table(&rows, &names),
            "SITE   ADDRESS         UP                              LEADER  BALLOT  DECIDED  MEMBER  PEERS UP\n\
             alice  127.0.0.1:9000  up                              bob     3.bob   7        voting  1/1\n\
             bob    10.0.0.2:9001   on another host: run ctl there\n"
        );
    }
}
