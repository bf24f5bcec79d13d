//! The command line (SPEC section 2).

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value as Json};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::sync::mpsc;
use tweettui::config::{Config, ConfigSource};
use tweettui::signal::{stop_requested, Hangup};
use tweettui::site::control;
use tweettui::site::record::{self, Recorder};
use tweettui::site::runtime::{self, SiteOptions};
use tweettui::ui::{self, UiSetup};

#[derive(Parser, Debug)]
#[command(
    name = "tweettui",
    version,
    about = "A Twitter with no server: sites agree on one log with Multi-Paxos",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  tweettui demo                 a five-site cluster in one process, UI on site 0\n  tweettui alice --headless     run site alice without UI\n  tweettui ctl alice tweet hi   send one request to a running site"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The site to run: its index in the config (0-based) or its name.
    site: Option<String>,
    /// Run without the UI (logs to stderr; stops cleanly on SIGINT/SIGTERM).
    #[arg(long)]
    headless: bool,
    /// Record this site's events (messages, drops, durable records, decisions) to FILE as JSON lines.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// The config file [default: ./config.json when it exists, else the built-in five sites].
    #[arg(long, value_name = "PATH", global = true)]
    config: Option<PathBuf>,
    /// The site's data dir [default: <platform data dir>/tweettui/<site name>].
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send one control request to a running site and print the answer.
    Ctl {
        /// The site: index or name.
        site: String,
        /// tweet | block | unblock | view | blocked | log | status | fault
        command: String,
        /// The argument: tweet text, user name, a JSON fault spec; for log: FROM_SLOT (all
        /// slots from there, fetched page by page) or {"from": n, "limit": m} (one page).
        arg: Vec<String>,
        /// Print the raw JSON answer line.
        #[arg(long)]
        json: bool,
    },
    /// The load benchmark: closed-loop clients submit tweets for a while;
    /// prints throughput and latency percentiles.
    Bench {
        /// Sites of the cluster it starts in this process (1 to 7).
        #[arg(long, default_value_t = 3)]
        sites: usize,
        /// Concurrent clients, spread over the sites.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// How long to submit, in seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Characters per tweet.
        #[arg(long, default_value_t = 100)]
        size: usize,
        /// Measure the running sites of the config instead of starting a cluster.
        #[arg(long)]
        remote: bool,
    },
    /// A whole local cluster in one process (fresh data dirs in a temp dir), UI on site 0.
    Demo {
        /// How many sites (1 to 7).
        #[arg(long, default_value_t = 5)]
        sites: usize,
        /// Keep the demo's data dirs instead of removing them on exit.
        #[arg(long)]
        keep: bool,
        /// Record every site's events (messages, drops, crashes, decisions) to FILE as JSON lines.
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
        /// Slow motion: every message takes MS milliseconds more (timeouts scaled to match), so that rounds can be followed.
        #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=10_000))]
        slow: Option<u64>,
        #[command(flatten)]
        step: tweettui::demo::step::StepArgs,
    },
    /// Play recordings (--record) of one or several sites, merged, with a time slider.
    Replay {
        /// The recordings (from one host or several: merged by time, a receive after its send).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// A sequence diagram of some slots from recordings, for slides (to stdout).
    Export {
        /// The recordings (merged as replay merges them).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// The slots: A..B (both included) or one slot.
        #[arg(long, value_parser = ui::replay::export::parse_slots)]
        slots: std::ops::RangeInclusive<u64>,
        /// Mermaid `sequenceDiagram`, or a ShiViz log with vector clocks.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: ui::replay::export::Format,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tweettui: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tweettui: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Ctl {
            site,
            command,
            arg,
            json,
        }) => ctl(&cli.common, &site, &command, &arg, json).await,
        Some(Command::Bench {
            sites,
            clients,
            seconds,
            size,
            remote,
        }) => {
            let remote = if remote {
                Some(load_config(&cli.common)?)
            } else {
                None
            };
            let opts = tweettui::bench::BenchOptions {
                sites,
                clients,
                seconds,
                size,
                remote,
            };
            let report = tweettui::bench::run(opts).await?;
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Demo {
            sites,
            keep,
            record,
            slow,
            step,
        }) => {
            if step.step {
                tweettui::demo::step::run(step.options(sites, record)).await?;
                return Ok(ExitCode::SUCCESS);
            }
            let opts = tweettui::demo::DemoOptions {
                sites,
                keep,
                record,
                slow_ms: slow.unwrap_or(0),
            };
            tweettui::demo::run(opts).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Export {
            files,
            slots,
            format,
        }) => {
            let text = ui::replay::export_files(&files, &slots, format)?;
            // Not print!: it panics when the reader goes away (`| head`).
            let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Replay { files }) => {
            let player = ui::replay::load(&files)?;
            ui::replay::run(player).await?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let Some(site) = cli.site else {
                anyhow::bail!("which site? give its index or name (see --help)");
            };
            run_site(&cli.common, &site, cli.headless, cli.record).await
        }
    }
}

fn load_config(common: &Common) -> anyhow::Result<Config> {
    let (config, source) = Config::resolve(common.config.as_deref())?;
    if let ConfigSource::BuiltinDefault = source {
        eprintln!(
            "tweettui: no ./config.json: using the built-in default (the five sites of config-sample.json)"
        );
    }
    Ok(config)
}

fn default_data_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "tweettui")
        .ok_or_else(|| anyhow!("no home directory to put the data dir in: pass --data-dir"))?;
    Ok(dirs.data_dir().join(name))
}

async fn run_site(
    common: &Common,
    site: &str,
    headless: bool,
    record: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let config = load_config(common)?;
    let index = config.site_index(site)?;
    let name = config.sites[index].name.clone();
    let data_dir = match &common.data_dir {
        Some(d) => d.clone(),
        None => default_data_dir(&name)?,
    };
    let recorder = Recorder::create_if(record.as_deref(), config.names())?;
    let opts = SiteOptions {
        config,
        site: index as u32,
        data_dir: data_dir.clone(),
        record: recorder.clone(),
    };
    let code = if headless {
        tweettui::logs::to_stderr();
        run_headless(opts, &name, &data_dir).await?
    } else {
        // The UI: logs go to a file in the data dir, never to the screen.
        run_site_with_ui(opts).await?;
        ExitCode::SUCCESS
    };
    if let Some(r) = recorder {
        record::report_end(&r);
    }
    Ok(code)
}

async fn run_headless(
    opts: SiteOptions,
    name: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let mut site = runtime::start(opts, None)
        .await
        .with_context(|| format!("site {name} cannot start"))?;
    tracing::info!(
        "site {name} up: peers on {}, control on {}, data in {}",
        site.peer_addr,
        site.control_addr,
        data_dir.display()
    );
    tokio::select! {
        _ = stop_requested(Hangup::NotHandled) => {
            tracing::info!("stopping");
            site.stop().await?;
            Ok(ExitCode::SUCCESS)
        }
        result = site.finished() => {
            result?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs one site with the UI (`tweettui <SITE>`): logs to a file in its
/// data dir, the UI until quit, then stops the site cleanly. Here, not in
/// the UI: the UI shows a site, it does not start one.
async fn run_site_with_ui(opts: SiteOptions) -> anyhow::Result<()> {
    let _log = tweettui::logs::to_file(&opts.data_dir, "tweettui.log")?;
    let index = opts.site as usize;
    let names = opts.config.names();
    let name = names.get(index).cloned().unwrap_or_default();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut site = runtime::start(opts, Some(tx))
        .await
        .with_context(|| format!("site {name} cannot start"))?;
    tracing::info!(
        "site {name} up: peers on {}, control on {}",
        site.peer_addr,
        site.control_addr
    );
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if ev_tx.send((index, ev)).is_err() {
                break;
            }
        }
    });
    let mut clients = vec![None; names.len()];
    clients[index] = Some(site.client.clone());
    let setup = UiSetup {
        names,
        shown: index,
        demo: false,
        clients,
        events: ev_rx,
        demo_cmds: None,
        demo_events: None,
        on_fatal: None,
    };
    let ended_by_ui = tokio::select! {
        r = ui::run(setup) => Some(r),
        r = site.finished() => {
            // The UI future is dropped: its guard restores the terminal.
            r.context("the site stopped")?;
            None
        }
    };
    match ended_by_ui {
        Some(ui) => {
            let stopped = site.stop().await;
            ui?;
            stopped
        }
        None => anyhow::bail!("the site {name} stopped by itself"),
    }
}

/// The request body for `ctl COMMAND ARG...`.
fn ctl_body(command: &str, arg: &[String]) -> anyhow::Result<Json> {
    let joined = arg.join(" ");
    let need = |what: &str| -> anyhow::Result<Json> {
        if joined.is_empty() {
            anyhow::bail!("usage: tweettui ctl SITE {command} {what}");
        }
        Ok(Json::String(joined.clone()))
    };
    match command {
        "tweet" => need("TEXT"),
        "block" | "unblock" => need("USER"),
        "view" | "blocked" | "status" => Ok(Json::Null),
        "log" if joined.is_empty() => Ok(Json::Null),
        "log" => match joined.parse::<u64>() {
            Ok(n) => Ok(json!({ "from": n })),
            Err(_) => serde_json::from_str(&joined).map_err(|_| {
                anyhow!(
                    "usage: tweettui ctl SITE log [FROM_SLOT | '{{\"from\": n, \"limit\": m}}']"
                )
            }),
        },
        "fault" if joined.is_empty() => Ok(json!({})),
        "fault" => serde_json::from_str(&joined).map_err(|e| {
            anyhow!("usage: tweettui ctl SITE fault '{{\"drop_to\": [1], \"loss\": 0.1}}' ({e})")
        }),
        // Unknown commands go to the site, which answers with the usage.
        _ => Ok(if joined.is_empty() {
            Json::Null
        } else {
            Json::String(joined)
        }),
    }
}

async fn ctl(
    common: &Common,
    site: &str,
    command: &str,
    arg: &[String],
    raw: bool,
) -> anyhow::Result<ExitCode> {
    let config = load_config(common)?;
    let index = config.site_index(site)?;
    let port = config.sites[index].control_port()?;
    let body = ctl_body(command, arg)?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    if command == "log" && !raw && body.get("limit").is_none() {
        let from = body.get("from").and_then(Json::as_u64).unwrap_or(0);
        return ctl_log_pages(addr, from).await;
    }
    let resp = control::call(addr, command, body).await?;
    if raw {
        println!("{}", serde_json::to_string(&resp)?);
    } else {
        print_human(command, &resp);
    }
    Ok(if resp.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `ctl SITE log [FROM]`: the whole decided log from `FROM` on, one page
/// (at most `LOG_PAGE` slots) per request, printed as it comes.
async fn ctl_log_pages(addr: std::net::SocketAddr, start: u64) -> anyhow::Result<ExitCode> {
    let mut from = start;
    loop {
        let resp = control::call(addr, "log", json!({ "from": from })).await?;
        if !resp.is_ok() {
            print_human("log", &resp);
            return Ok(ExitCode::FAILURE);
        }
        let last = resp.body.as_array().and_then(|rows| rows.last());
        let Some(last) = last.and_then(|row| row["slot"].as_u64()) else {
            if from == start {
                println!("(no decided slots from slot {start} on)");
            }
            return Ok(ExitCode::SUCCESS);
        };
        if last < from {
            anyhow::bail!("the site answered slot {last} to a request for slots from {from} on");
        }
        print_human("log", &resp);
        from = last.saturating_add(1);
    }
}

fn print_human(command: &str, resp: &control::Response) {
    let body = &resp.body;
    if !resp.is_ok() {
        let msg = body
            .as_str()
            .map_or_else(|| body.to_string(), str::to_string);
        println!("error {}: {msg}", resp.stat);
        return;
    }
    let s = |v: &Json| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    match command {
        "tweet" | "block" | "unblock" => println!("done: slot {}", body["slot"]),
        "view" => {
            let rows = body.as_array().cloned().unwrap_or_default();
            if rows.is_empty() {
                println!("(no tweets)");
            }
            for t in rows {
                println!(
                    "[{}] {} @{}: {}",
                    t["slot"],
                    s(&t["time"]),
                    s(&t["user"]),
                    s(&t["text"])
                );
            }
        }
        "blocked" => {
            let rows = body.as_array().cloned().unwrap_or_default();
            if rows.is_empty() {
                println!("(nobody blocked)");
            }
            for u in rows {
                println!("{}", s(&u));
            }
        }
        "log" => {
            for e in body.as_array().cloned().unwrap_or_default() {
                let op = &e["op"];
                let what = match op["kind"].as_str() {
                    Some("tweet") => format!("{} tweets: {}", s(&op["user"]), s(&op["text"])),
                    Some("block") => format!("{} blocks {}", s(&op["user"]), s(&op["target"])),
                    Some("unblock") => format!("{} unblocks {}", s(&op["user"]), s(&op["target"])),
                    _ => "no-op".to_string(),
                };
                println!("slot {:>5}  {what}", e["slot"]);
            }
        }
        "status" => print_status(body),
        _ => println!("{body}"),
    }
}

/// `ctl SITE status`, for people.
fn print_status(body: &Json) {
    let s = |v: &Json| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let leader = body["leader"]
        .as_u64()
        .and_then(|l| {
            body["peers"]
                .as_array()?
                .iter()
                .find(|p| p["site"].as_u64() == Some(l))
                .map(|p| s(&p["name"]))
        })
        .or_else(|| {
            (body["leader"].as_u64() == body["site"].as_u64() && !body["leader"].is_null())
                .then(|| s(&body["name"]))
        })
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
            format!("{} {up}", s(&p["name"]))
        })
        .collect();
    println!(
        "{} (site {}): leader {leader}, {} slots decided; peers: {}",
        s(&body["name"]),
        body["site"],
        body["decided"],
        peers.join(", ")
    );
}
