//! What the process tests share: a cluster of real `tweettui --headless`
//! children on free loopback ports, each with its own temporary data dir,
//! killed when the test ends (also when it fails); every wait is a condition
//! polled until a deadline.
#![allow(dead_code)]

use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tweettui");
pub const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
pub const SUBMIT_TIMEOUT_MS: u64 = 2_000;

/// A free port not handed out before in this test binary (a port bound
/// and dropped may be handed out again, and one config needs several).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// `n` distinct free ports: every listener is held until all are picked
/// (one bound and dropped at a time may be handed out again).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("a bound address").port())
        .collect()
}

/// One cluster at a time per test binary: its ports are picked free and
/// then bound by child processes, so two clusters starting at once could
/// pick the same port.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub struct Cluster {
    _turn: std::sync::MutexGuard<'static, ()>,
    pub submit_timeout_ms: u64,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub peer_ports: Vec<u16>,
    pub control_ports: Vec<u16>,
    pub children: Vec<Option<Child>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Cluster {
    /// Writes a config for `n` sites; starts none.
    pub fn new(n: usize) -> Cluster {
        Cluster::with_timeouts(n, 200, SUBMIT_TIMEOUT_MS)
    }

    /// The same, with the config's `timeout_ms` and `submit_timeout_ms`.
    pub fn with_timeouts(n: usize, timeout_ms: u64, submit_timeout_ms: u64) -> Cluster {
        // A test that failed while holding the turn poisons it; the next
        // one may still go.
        let turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::tempdir().expect("temp dir");
        let mut ports = free_ports(2 * n);
        let control_ports = ports.split_off(n);
        let peer_ports = ports;
        let sites: Vec<Json> = (0..n)
            .map(|i| {
                json!({"name": NAMES[i], "addr": "127.0.0.1", "port": peer_ports[i],
                       "control_port": control_ports[i]})
            })
            .collect();
        let config = dir.path().join("config.json");
        let text = json!({"sites": sites, "timeout_ms": timeout_ms,
                          "submit_timeout_ms": submit_timeout_ms});
        std::fs::write(&config, text.to_string()).expect("write config");
        Cluster {
            _turn: turn,
            submit_timeout_ms,
            dir,
            config,
            peer_ports,
            control_ports,
            children: (0..n).map(|_| None).collect(),
        }
    }

    pub fn started(n: usize) -> Cluster {
        let mut c = Cluster::new(n);
        for i in 0..n {
            c.start(i);
        }
        c.wait_all_voting();
        c
    }

    /// Every site up and voting: a new cluster's sites vote once they
    /// heard enough peers say they hold nothing (SPEC 6).
    pub fn wait_all_voting(&self) {
        for i in 0..self.children.len() {
            self.wait_up(i);
        }
        let ok = wait_until(Duration::from_secs(20), || {
            (0..self.children.len()).all(|i| {
                try_call(self.control_ports[i], "status", Json::Null)
                    .is_some_and(|r| r["body"]["membership"] == "voting")
            })
        });
        assert!(ok, "not every site votes; log of site 0:\n{}", self.log(0));
    }

    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(NAMES[i])
    }

    pub fn spawn(&self, i: usize) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{}.log", NAMES[i])))
            .expect("log file");
        Command::new(BIN)
            .arg(NAMES[i])
            .arg("--headless")
            .arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(self.data_dir(i))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tweettui")
    }

    pub fn start(&mut self, i: usize) {
        let child = self.spawn(i);
        self.children[i] = Some(child);
    }

    /// kill -9.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{}.log", NAMES[i])))
            .unwrap_or_default()
    }

    pub fn wait_up(&self, i: usize) {
        let ok = wait_until(Duration::from_secs(20), || {
            try_call(self.control_ports[i], "status", Json::Null).is_some_and(|r| r["stat"] == 200)
        });
        assert!(
            ok,
            "site {} did not come up; its log:\n{}",
            NAMES[i],
            self.log(i)
        );
    }

    pub fn call(&self, i: usize, head: &str, body: Json) -> Json {
        let wait = Duration::from_millis(self.submit_timeout_ms + 3_000);
        try_call_within(self.control_ports[i], head, body, wait).unwrap_or_else(|| {
            panic!(
                "no answer from {} to {head}; log:\n{}",
                NAMES[i],
                self.log(i)
            )
        })
    }

    pub fn tweet(&self, i: usize, text: &str) -> Json {
        self.call(i, "tweet", json!(text))
    }

    pub fn view_texts(&self, i: usize) -> Vec<String> {
        let v = self.call(i, "view", Json::Null);
        assert_eq!(v["stat"], 200, "{v}");
        v["body"]
            .as_array()
            .expect("view is a list")
            .iter()
            .map(|t| t["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The whole decided log, page by page (a page holds at most
    /// `LOG_PAGE` slots, from the one asked for on).
    pub fn log_of(&self, i: usize) -> Json {
        let mut all = Vec::new();
        let mut from = 0;
        loop {
            let rows = self.log_page(i, json!({ "from": from, "limit": LOG_PAGE }));
            let Some(last) = rows.last().map(slot_of) else {
                return Json::Array(all);
            };
            let first = slot_of(&rows[0]);
            assert!(
                first >= from && last < from + LOG_PAGE,
                "a page of slots {first}..={last} asked from {from}"
            );
            all.extend(rows);
            from = last + 1;
        }
    }

    pub fn log_page(&self, i: usize, body: Json) -> Vec<Json> {
        let v = self.call(i, "log", body);
        assert_eq!(v["stat"], 200, "{v}");
        v["body"].as_array().cloned().expect("log is a list")
    }

    pub fn decided(&self, i: usize) -> u64 {
        self.call(i, "status", Json::Null)["body"]["decided"]
            .as_u64()
            .unwrap_or(0)
    }
}

pub const LOG_PAGE: u64 = 1000;

pub fn slot_of(row: &Json) -> u64 {
    row["slot"].as_u64().expect("a slot number")
}

/// One request on a fresh connection; None when the site does not answer.
pub fn try_call(port: u16, head: &str, body: Json) -> Option<Json> {
    try_call_within(
        port,
        head,
        body,
        Duration::from_millis(SUBMIT_TIMEOUT_MS + 3_000),
    )
}

/// The same, waiting at most `wait` for the answer.
pub fn try_call_within(port: u16, head: &str, body: Json, wait: Duration) -> Option<Json> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(wait)).ok()?;
    let line = json!({"head": head, "body": body}).to_string() + "\n";
    s.write_all(line.as_bytes()).ok()?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).ok()?;
    serde_json::from_str(&answer).ok()
}

pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The leader as `site` sees it.
pub fn leader_seen_by(c: &Cluster, site: usize) -> Json {
    c.call(site, "status", Json::Null)["body"]["leader"].clone()
}
