//! The real binary on a data dir whose WAL ends in a group commit torn by a
//! power loss: some of its pages on disk, the first one lost. The site
//! starts, logs the torn write and shows the log from before the batch; the
//! same batch whole would have been applied (the control). Every wait is a
//! condition polled until a deadline; children are killed on drop.

mod common;

use chrono::DateTime;
use common::free_port;
use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tweettui::paxos::types::Record;
use tweettui::state::op::{Command as Cmd, Op, OpId, Value};
use tweettui::storage::{encode_wal_batch, recover_wal_segment, WAL_PAGE};

const BIN: &str = env!("CARGO_BIN_EXE_tweettui");

/// A one-site cluster `alice` running headless on `data_dir`.
struct Site {
    child: Child,
    config: PathBuf,
    control_port: u16,
    stderr: PathBuf,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Site {
    fn start(data_dir: &Path) -> Site {
        let work = data_dir.with_extension("run");
        std::fs::create_dir_all(&work).expect("work dir");
        let control_port = free_port();
        let config = work.join("config.json");
        let site = json!({"name": "alice", "addr": "127.0.0.1", "port": free_port(),
                          "control_port": control_port});
        let text = json!({"sites": [site], "timeout_ms": 200, "submit_timeout_ms": 2000});
        std::fs::write(&config, text.to_string()).expect("write config");
        let stderr = work.join("alice.log");
        let log = std::fs::File::create(&stderr).expect("log file");
        let child = Command::new(BIN)
            .args(["alice", "--headless", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tweettui");
        let site = Site {
            child,
            config,
            control_port,
            stderr,
        };
        let up = wait_until(Duration::from_secs(20), || {
            site.call("status", Json::Null)
                .is_some_and(|r| r["stat"] == 200)
        });
        assert!(up, "the site did not come up; its log:\n{}", site.log());
        site
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn call(&self, head: &str, body: Json) -> Option<Json> {
        let mut s = TcpStream::connect(("127.0.0.1", self.control_port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let line = json!({"head": head, "body": body}).to_string() + "\n";
        s.write_all(line.as_bytes()).ok()?;
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer).ok()?;
        serde_json::from_str(&answer).ok()
    }

    fn tweet(&self, text: &str) -> Json {
        self.call("tweet", json!(text)).unwrap_or(Json::Null)
    }

    /// `tweettui ctl alice ARGS... --json`: the answer's body.
    fn ctl(&self, args: &[&str]) -> Json {
        let out = Command::new(BIN)
            .args(["ctl", "alice"])
            .args(args)
            .arg("--json")
            .arg("--config")
            .arg(&self.config)
            .output()
            .expect("run ctl");
        let text = String::from_utf8_lossy(&out.stdout);
        let answer: Json = serde_json::from_str(text.trim()).unwrap_or(Json::Null);
        assert_eq!(answer["stat"], 200, "ctl {args:?}: {text}");
        answer["body"].clone()
    }

    /// The tweet texts `ctl alice log` shows.
    fn logged_texts(&self) -> Vec<String> {
        let log = self.ctl(&["log"]);
        let entries = log.as_array().cloned().unwrap_or_default();
        entries
            .iter()
            .filter_map(|e| e["op"]["text"].as_str().map(str::to_string))
            .collect()
    }

    /// kill -9: the newest WAL segment keeps its preallocated zeros.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Decisions of tweets nobody made: applied, they would show in the log.
fn ghost_decisions(from_slot: u64) -> Vec<Record> {
    (0..40)
        .map(|k| Record::Decide {
            slot: from_slot + k,
            value: Value::batch(vec![Cmd {
                id: OpId {
                    site: 0,
                    boot: 9_999,
                    seq: k,
                },
                op: Op::Tweet {
                    user: "alice".into(),
                    text: format!("ghost {k} {}", "x".repeat(200)),
                    time: DateTime::from_timestamp(1_700_000_000, 0).expect("a time"),
                },
            }]),
        })
        .collect()
}

/// The newest WAL segment of `data_dir`.
fn newest_segment(data_dir: &Path) -> PathBuf {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(data_dir.join("wal"))
        .expect("wal dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    segments.sort();
    segments.pop().expect("a WAL segment")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn a_site_starts_on_a_wal_whose_last_multi_page_batch_is_torn() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let live = tmp.path().join("live");
    let site = Site::start(&live);
    for text in ["one", "two"] {
        let r = site.tweet(text);
        assert_eq!(r["stat"], 200, "{r}");
    }
    site.kill();

    // A group commit of 40 decisions after the two tweets: over three pages.
    let path = newest_segment(&live);
    let bytes = std::fs::read(&path).expect("read the WAL");
    let before = recover_wal_segment(&bytes, &path).expect("a sound WAL");
    assert!(before.torn.is_none(), "{:?}", before.torn);
    let start = before.good_end as usize;
    let batch = encode_wal_batch(&ghost_decisions(2)).expect("encode");
    assert!(batch.len() > 3 * WAL_PAGE, "{} bytes", batch.len());
    let mut whole = bytes[..start].to_vec();
    whole.extend_from_slice(&batch);
    whole.resize(whole.len().max(bytes.len()), 0);
    // Torn: the page holding the batch's start (its header) did not reach
    // the disk, the later pages did.
    let mut torn = whole.clone();
    let first_page_end = (start / WAL_PAGE + 1) * WAL_PAGE;
    torn[start..first_page_end].fill(0);
    assert!(torn[first_page_end..start + batch.len()]
        .iter()
        .any(|&b| b != 0));

    let torn_dir = tmp.path().join("torn");
    copy_dir(&live, &torn_dir);
    std::fs::write(newest_segment(&torn_dir), &torn).expect("write");
    let site = Site::start(&torn_dir);
    assert_eq!(site.logged_texts(), ["one", "two"]);
    assert!(site.log().contains("torn write"), "{}", site.log());
    let r = site.tweet("three");
    assert_eq!(r["stat"], 200, "{r}");
    assert_eq!(site.logged_texts(), ["one", "two", "three"]);
    site.kill();

    // The control: the same batch whole is applied.
    let whole_dir = tmp.path().join("whole");
    copy_dir(&live, &whole_dir);
    std::fs::write(newest_segment(&whole_dir), &whole).expect("write");
    let site = Site::start(&whole_dir);
    let ok = wait_until(Duration::from_secs(10), || {
        site.logged_texts()
            .iter()
            .any(|t| t.starts_with("ghost 39"))
    });
    assert!(ok, "{:?}", site.logged_texts());
}
