//! `tweettui ctl`: one control request to a running site (SPEC 8), or the
//! status of every site this host can reach, for people and for scripts.
//!
//! For scripts: answers on stdout (`--json`: the answer line as the site
//! sent it), errors on stderr, and an exit code per kind of outcome
//! ([`Exit`]). Before it sends anything, `ctl` asks the site at the
//! control port who it is: two sites on one host with the same control
//! port, or a site that lives on another host, would otherwise answer for
//! the site asked.

mod cluster;
mod print;

use crate::config::Config;
use crate::site::control::{self, Response};
use clap::{Args, Subcommand};
use serde_json::{json, Value as Json};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

/// The exit codes of `ctl`, one per kind of outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done (200).
    Done = 0,
    /// 1: anything else: a config that cannot be read, an I/O error.
    Other = 1,
    /// 2: a usage error (clap's code: wrong arguments).
    Usage = 2,
    /// 3: refused as written, 400: it can never succeed as it is.
    BadRequest = 3,
    /// 4: refused by the current state, 409 (already blocked, not blocked).
    Refused = 4,
    /// 5: not decided in time, 503 (no quorum reachable); it may still be
    /// decided later, at most once.
    NotDecided = 5,
    /// 6: the site cannot be reached (not running, or not on this host).
    Unreachable = 6,
    /// 7: another site answered at that control port.
    WrongSite = 7,
    /// 8: the site failed (500).
    SiteFault = 8,
}

/// The table of [`Exit`], for `--help` and the README.
pub const EXIT_CODES: &str = "Exit codes:
  0  done (200)
  1  another error (the config cannot be read, ...)
  2  usage: wrong arguments
  3  refused as written (400): it can never succeed as it is
  4  refused by the current state (409): already blocked, not blocked
  5  not decided in time (503): no quorum reachable; it may still be decided later, once
  6  the site cannot be reached (not running, or its control port is on another host)
  7  another site answered at that control port (two sites on this host share it)
  8  the site failed (500)";

impl Exit {
    /// The exit code of an answer's status.
    pub fn of_stat(stat: u16) -> Exit {
        match stat {
            200 => Exit::Done,
            400 => Exit::BadRequest,
            409 => Exit::Refused,
            503 => Exit::NotDecided,
            _ => Exit::SiteFault,
        }
    }

    pub fn code(self) -> ExitCode {
        ExitCode::from(self as u8)
    }
}

/// An error with its exit code.
#[derive(Debug)]
pub struct CtlError {
    pub exit: Exit,
    pub message: String,
}

impl std::fmt::Display for CtlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CtlError {}

fn fail(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    CtlError {
        exit,
        message: message.into(),
    }
    .into()
}

/// The exit code of an error from [`run`]: its own, or [`Exit::Other`].
pub fn exit_of(e: &anyhow::Error) -> Exit {
    e.downcast_ref::<CtlError>().map_or(Exit::Other, |c| c.exit)
}

/// `tweettui ctl [--json] SITE COMMAND ...` or `tweettui ctl cluster`.
#[derive(Args, Debug)]
#[command(
    subcommand_precedence_over_arg = true,
    after_help = EXIT_CODES,
    override_usage = "tweettui ctl [--json] <SITE> <COMMAND> [ARGS]\n       tweettui ctl [--json] cluster"
)]
pub struct CtlArgs {
    /// The site: its index in the config (0-based) or its name.
    pub site: Option<String>,
    #[command(subcommand)]
    pub command: CtlCommand,
    /// Print the answer as JSON (the site's answer line; times in RFC 3339 UTC, milliseconds).
    #[arg(long, global = true)]
    pub json: bool,
}

/// What to ask the site.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum CtlCommand {
    /// Tweet TEXT as the site's user; prints the slot it was decided in.
    Tweet {
        #[arg(required = true, num_args = 1.., value_name = "TEXT")]
        text: Vec<String>,
    },
    /// Block USER for the site's user.
    Block { user: String },
    /// Unblock USER for the site's user.
    Unblock { user: String },
    /// The site's user's timeline, newest first (fetched page by page; --limit: one page).
    View {
        /// At most this many tweets (one page).
        #[arg(long)]
        limit: Option<u64>,
        /// The page starts after this tweet: SLOT or SLOT:INDEX, as `view` prints it.
        #[arg(long, value_name = "SLOT[:INDEX]", requires = "limit", value_parser = parse_position)]
        after: Option<(u64, u64)>,
    },
    /// The users the site's user blocks.
    Blocked,
    /// The decided log (every slot from --from on, fetched page by page; --limit: one page).
    Log {
        /// The first slot.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many slots (one request).
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Who leads, how many slots are decided, which peers are up.
    Status,
    /// Set the site's network filter (demos, tests): a JSON spec; none clears it.
    #[command(
        after_help = "Example: tweettui ctl alice fault '{\"drop_to\": [1], \"loss\": 0.1, \"delay_ms\": 50}'"
    )]
    Fault {
        /// {"drop_to": [i...], "drop_from": [i...], "loss": 0.0..1.0, "delay_ms": n}
        spec: Option<String>,
    },
    /// The status of every site this host can reach, as one table.
    Cluster,
}

impl CtlCommand {
    /// The request's head and body (SPEC 8).
    fn request(&self) -> anyhow::Result<(&'static str, Json)> {
        Ok(match self {
            CtlCommand::Tweet { text } => ("tweet", json!(text.join(" "))),
            CtlCommand::Block { user } => ("block", json!(user)),
            CtlCommand::Unblock { user } => ("unblock", json!(user)),
            CtlCommand::View { limit: None, .. } => ("view", Json::Null),
            CtlCommand::View {
                limit: Some(limit),
                after,
            } => match after {
                Some((slot, index)) => (
                    "view",
                    json!({"limit": limit, "after": {"slot": slot, "index": index}}),
                ),
                None => ("view", json!({ "limit": limit })),
            },
            CtlCommand::Blocked => ("blocked", Json::Null),
            CtlCommand::Log { from, limit } => match limit {
                Some(limit) => ("log", json!({"from": from, "limit": limit})),
                None => ("log", json!({ "from": from })),
            },
            CtlCommand::Status | CtlCommand::Cluster => ("status", Json::Null),
            CtlCommand::Fault { spec: None } => ("fault", json!({})),
            CtlCommand::Fault { spec: Some(s) } => {
                let spec = serde_json::from_str(s)
                    .map_err(|e| fail(Exit::Usage, format!("the fault spec is not JSON: {e}")))?;
                ("fault", spec)
            }
        })
    }
}

/// `SLOT` or `SLOT:INDEX`, a tweet's position in the log (index 0 if left out).
fn parse_position(s: &str) -> Result<(u64, u64), String> {
    let (slot, index) = s.split_once(':').unwrap_or((s, "0"));
    let num = |x: &str| x.parse::<u64>().map_err(|e| format!("{x:?}: {e}"));
    Ok((num(slot)?, num(index)?))
}

/// Runs `ctl`; the exit code of its outcome, or an error carrying one.
pub async fn run(config: &Config, args: CtlArgs) -> anyhow::Result<Exit> {
    if args.command == CtlCommand::Cluster {
        if let Some(site) = &args.site {
            return Err(fail(
                Exit::Usage,
                format!("`ctl cluster` asks every site: leave out the site ({site})"),
            ));
        }
        return cluster::run(config, args.json).await;
    }
    let Some(site) = &args.site else {
        return Err(fail(
            Exit::Usage,
            "which site? tweettui ctl <SITE> <COMMAND> (see tweettui ctl --help)",
        ));
    };
    let index = config
        .site_index(site)
        .map_err(|e| fail(Exit::Usage, format!("{e:#}")))?;
    let target = Target::of(config, index)?;
    target.check_identity().await?;
    let (head, body) = args.command.request()?;
    if let CtlCommand::Log { from, limit: None } = args.command {
        return print::log_pages(&target, from, args.json).await;
    }
    if let CtlCommand::View { limit: None, .. } = args.command {
        return print::view_all(&target, args.json).await;
    }
    let resp = target.call(head, body).await?;
    if args.json {
        println!("{}", serde_json::to_string(&resp)?);
    } else {
        print::human(head, &resp, &config.names());
    }
    Ok(Exit::of_stat(resp.stat))
}

/// A site's control endpoint as seen from here.
pub struct Target {
    pub name: String,
    pub addr: SocketAddr,
    /// How long an answer may take: the site answers every request within
    /// the submit timeout plus a second (SPEC 8).
    pub patience: Duration,
}

impl Target {
    /// Site `index`'s control endpoint, if it is on this host.
    pub fn of(config: &Config, index: usize) -> anyhow::Result<Target> {
        let site = &config.sites[index];
        let port = site
            .control_port()
            .map_err(|e| fail(Exit::Other, format!("{e:#}")))?;
        if !is_this_host(&site.addr) {
            return Err(fail(
                Exit::Unreachable,
                format!(
                    "{} runs at {}: its control port ({port}) listens on 127.0.0.1 there only; \
                     run `tweettui ctl {} ...` on that host",
                    site.name, site.addr, site.name
                ),
            ));
        }
        Ok(Target {
            name: site.name.clone(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            patience: Duration::from_millis(config.submit_timeout_ms) + Duration::from_secs(2),
        })
    }

    /// One request, answered within [`Target::patience`].
    pub async fn call(&self, head: &str, body: Json) -> anyhow::Result<Response> {
        match tokio::time::timeout(self.patience, control::call(self.addr, head, body)).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(fail(Exit::Unreachable, format!("{}: {e:#}", self.name))),
            Err(_) => Err(fail(
                Exit::Unreachable,
                format!(
                    "{} at {} did not answer within {:?}",
                    self.name, self.addr, self.patience
                ),
            )),
        }
    }

    /// Asks the site at the control port its name: it must be the one asked.
    pub async fn check_identity(&self) -> anyhow::Result<Json> {
        let resp = self.call("status", Json::Null).await?;
        let name = resp.body.get("name").and_then(Json::as_str);
        match name {
            Some(n) if n == self.name => Ok(resp.body),
            Some(other) => Err(fail(
                Exit::WrongSite,
                format!(
                    "{} answered at {}, not {}: two sites on this host use control port {}; \
                     give {} its own \"control_port\" in the config",
                    other,
                    self.addr,
                    self.name,
                    self.addr.port(),
                    self.name
                ),
            )),
            None => Err(fail(
                Exit::WrongSite,
                format!(
                    "the program at {} is not a tweettui site (status answered {} {})",
                    self.addr, resp.stat, resp.body
                ),
            )),
        }
    }
}

/// Whether `host` names this machine: a loopback address, or one this
/// host can bind (an address of one of its interfaces). A name that does
/// not resolve counts as elsewhere.
pub fn is_this_host(host: &str) -> bool {
    let Ok(addrs) = (host, 0u16).to_socket_addrs() else {
        return false;
    };
    addrs
        .map(|a| a.ip())
        .any(|ip: IpAddr| ip.is_loopback() || std::net::UdpSocket::bind((ip, 0)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `view --after` takes a position as `view` prints it.
    #[test]
    fn view_pages_ask_for_what_the_options_say() {
        assert_eq!(parse_position("7"), Ok((7, 0)));
        assert_eq!(parse_position("7:2"), Ok((7, 2)));
        assert!(parse_position("7:x").is_err() && parse_position("").is_err());
        let view = |limit, after| CtlCommand::View { limit, after }.request().unwrap();
        assert_eq!(view(None, None), ("view", Json::Null));
        assert_eq!(view(Some(5), None), ("view", json!({"limit": 5})));
        assert_eq!(
            view(Some(5), Some((7, 2))),
            (
                "view",
                json!({"limit": 5, "after": {"slot": 7, "index": 2}})
            )
        );
    }

    #[test]
    fn loopback_and_local_addresses_are_this_host_others_are_not() {
        assert!(is_this_host("127.0.0.1"));
        assert!(is_this_host("127.0.0.2"));
        assert!(is_this_host("localhost"));
        // TEST-NET-1 (RFC 5737): never an address of this machine.
        assert!(!is_this_host("192.0.2.1"));
        assert!(!is_this_host("no-such-host.invalid"));
    }

    #[test]
    fn each_status_has_its_exit_code() {
        let codes: Vec<u8> = [200, 400, 409, 503, 500]
            .map(|s| Exit::of_stat(s) as u8)
            .to_vec();
        assert_eq!(codes, vec![0, 3, 4, 5, 8]);
    }
}

/// `ctl SITE view` with no `--limit` walks the timeline page by page: the
/// pages together are the whole timeline, each tweet once, in its order.
#[cfg(test)]
mod view_walk {
    use super::*;
    use crate::site::api::{Answer, Request};
    use crate::site::{control, runtime};

    #[tokio::test]
    async fn the_pages_walked_are_the_whole_timeline() {
        let dir = tempfile::tempdir().unwrap();
        let opts = runtime::SiteOptions {
            config: Config::loopback(1).unwrap(),
            site: 0,
            data_dir: dir.path().join("alice"),
            record: None,
        };
        let site = runtime::start(opts, None).await.unwrap();
        // 5 rounds of 5 at once: some slots hold several tweets.
        for round in 0..5 {
            let asks = (0..5).map(|i| site.client.request(Request::Tweet(format!("{round}-{i}"))));
            for reply in futures::future::join_all(asks).await {
                assert!(matches!(reply, Ok(Answer::Decided { .. })), "{reply:?}");
            }
        }
        let (addr, serving) = control::serve_on_free_port(site.client.clone()).await;
        let target = Target {
            name: "alice".into(),
            addr,
            patience: Duration::from_secs(10),
        };
        let whole = target.call("view", Json::Null).await.unwrap().body;
        assert_eq!(whole.as_array().map(Vec::len), Some(25));
        // 25 tweets in pages of 5 (the last one empty) and of 4.
        for (page, asked) in [(5, 6), (4, 7)] {
            let (mut walked, mut pages) = (Vec::new(), 0);
            let exit = print::view_pages(&target, page, |resp, first| {
                assert_eq!(first, pages == 0);
                pages += 1;
                walked.extend(resp.body.as_array().unwrap().iter().cloned());
            })
            .await
            .unwrap();
            assert_eq!(exit, Exit::Done);
            assert_eq!((Json::Array(walked), pages), (whole.clone(), asked));
        }
        serving.abort();
        site.stop().await.unwrap();
    }
}
