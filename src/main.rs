//! The command line (SPEC section 2).

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::sync::mpsc;
use tweettui::config::{Config, ConfigSource};
use tweettui::signal::{stop_requested, Hangup};
use tweettui::site::record::{self, Recorder};
use tweettui::site::runtime::{self, SiteOptions};
use tweettui::ui::{self, UiSetup};

#[derive(Parser, Debug)]
#[command(
    name = "tweettui",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("TWEETTUI_COMMIT"), ")"),
    arg_required_else_help = true,
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
    /// Colours: dark, light or high-contrast (for projectors) [default: $TWEETTUI_THEME, else dark; NO_COLOR wins].
    #[arg(long, global = true, value_enum)]
    theme: Option<ui::ThemeName>,
}

#[derive(Args, Debug, Clone)]
struct Common {
    #[command(flatten)]
    config: ConfigArg,
    /// The site's data dir [default: <platform data dir>/tweettui/<site name>].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone, Default)]
struct ConfigArg {
    /// The config file [default: $TWEETTUI_CONFIG, else ./config.json, else <platform config dir>/config.json, else the built-in five sites].
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

/// `ctl`'s `--config`: also after its subcommand (`ctl alice view --config x`).
#[derive(Args, Debug, Clone, Default)]
struct CtlConfigArg {
    /// The config file [default: $TWEETTUI_CONFIG, else ./config.json, else <platform config dir>/config.json, else the built-in five sites].
    #[arg(long, value_name = "PATH", global = true)]
    config: Option<PathBuf>,
}

/// What `bench` measures.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum BenchTarget {
    Tweettui,
    Etcd,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send one control request to a running site and print the answer (see `ctl --help`).
    Ctl {
        #[command(flatten)]
        args: tweettui::ctl::CtlArgs,
        #[command(flatten)]
        config: CtlConfigArg,
    },
    /// Shell completions for bash, zsh, fish, elvish or powershell, on stdout.
    Completions { shell: clap_complete::Shell },
    /// The man page (roff), on stdout: `tweettui man | man -l -`.
    Man,
    /// The load benchmark: closed-loop clients submit tweets for a while;
    /// prints throughput and latency percentiles. With TWEETTUI_SECRET set,
    /// the cluster it starts authenticates its peer connections.
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
        /// What to measure: tweettui, or an etcd cluster at --endpoints (the same load).
        #[arg(long, value_enum, default_value = "tweettui")]
        target: BenchTarget,
        /// etcd's client URLs, comma separated (http://127.0.0.1:2379,...).
        #[arg(long, value_delimiter = ',', required_if_eq("target", "etcd"))]
        endpoints: Vec<String>,
        /// Submit until N tweets are decided (instead of --seconds) and print
        /// latency per tenth of them: how it follows the history's length.
        #[arg(long, value_name = "N", conflicts_with_all = ["seconds", "catch_up"])]
        history: Option<u64>,
        /// Measure catch-up instead: stop one of 3 sites, grow the log by SLOTS, restart it, time until it has them all.
        #[arg(long, value_name = "SLOTS", conflicts_with_all = ["remote", "target", "seconds"])]
        catch_up: Option<u64>,
        #[command(flatten)]
        stages: tweettui::bench::breakdown::StageArgs,
        #[command(flatten)]
        config: ConfigArg,
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
        /// Keep the sites' data dirs (and demo.log, config.json) in DIR [default: a temp dir, removed on exit].
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
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
    let rt = match runtime(&cli) {
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

/// The async runtime: tokio's multi-threaded one, with a worker per core,
/// but one worker for a headless site (unless `TOKIO_WORKER_THREADS` says
/// otherwise). A site's work is one loop and the tasks that feed it, and
/// they hand each other every message: on one thread a wake is a push on a
/// queue, across two it is a futex and a thread switch. Measured through
/// real processes (three headless sites and the load on two cores, seven
/// rounds against two workers in turn): 16 clients 12,021-14,715 tweets/s
/// against 11,218-14,108, 64 clients +4 to +17 %, one client 0.33-0.34 ms
/// against 0.36 (README, Performance). With the UI, a worker per core as
/// before: the draw runs beside the site's loop.
fn runtime(cli: &Cli) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    let headless_site = cli.command.is_none() && cli.headless;
    if headless_site && std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(1);
    }
    builder.build()
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Ctl { args, config }) => ctl(args, &config).await,
        Some(cmd @ Command::Bench { .. }) => bench(cmd).await,
        Some(Command::Demo {
            sites,
            keep,
            record,
            slow,
            data_dir,
            step,
        }) => {
            // A lesson runs on step mode's deterministic cluster.
            if step.step || step.lesson.is_some() {
                tweettui::demo::step::run(step.options(sites, record, cli.theme)).await?;
                return Ok(ExitCode::SUCCESS);
            }
            let opts = tweettui::demo::DemoOptions {
                sites,
                keep,
                record,
                slow_ms: slow.unwrap_or(0),
                data_dir,
                theme: cli.theme,
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
        Some(Command::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "tweettui", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => man(),
        Some(Command::Replay { files }) => {
            let player = ui::replay::load(&files)?;
            ui::replay::run(player, cli.theme).await?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let Some(site) = cli.site else {
                anyhow::bail!("which site? give its index or name (see --help)");
            };
            run_site(&cli.common, &site, cli.headless, cli.record, cli.theme).await
        }
    }
}

/// `tweettui bench`: runs the load, prints the report.
async fn bench(cmd: Command) -> anyhow::Result<ExitCode> {
    let Command::Bench {
        sites,
        clients,
        seconds,
        size,
        remote,
        target,
        endpoints,
        history,
        catch_up,
        stages,
        config,
    } = cmd
    else {
        anyhow::bail!("not a bench command");
    };
    anyhow::ensure!(
        history.is_none() || target == BenchTarget::Tweettui,
        "--history measures tweettui only"
    );
    if let Some(slots) = catch_up {
        let opts = tweettui::bench::catchup::CatchUpOptions {
            slots,
            clients,
            size,
            secret: tweettui::config::Secret::from_env()?,
            deadline: std::time::Duration::from_secs(600),
        };
        let report = tweettui::bench::catchup::run(opts).await?;
        println!("{report}");
        return Ok(ExitCode::SUCCESS);
    }
    let remote = if remote {
        Some(load_config(&config)?)
    } else {
        None
    };
    let opts = tweettui::bench::BenchOptions {
        sites,
        clients,
        seconds,
        size,
        remote,
        secret: tweettui::config::Secret::from_env()?,
        etcd: (target == BenchTarget::Etcd).then_some(endpoints),
        history,
        stages,
    };
    let report = tweettui::bench::run(opts).await?;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// `tweettui ctl`: its outcome is its exit code.
async fn ctl(args: tweettui::ctl::CtlArgs, config: &CtlConfigArg) -> anyhow::Result<ExitCode> {
    let config = load_config(&ConfigArg {
        config: config.config.clone(),
    })?;
    Ok(match tweettui::ctl::run(&config, args).await {
        Ok(exit) => exit.code(),
        Err(e) => {
            eprintln!("tweettui ctl: {e:#}");
            tweettui::ctl::exit_of(&e).code()
        }
    })
}

/// `tweettui man`: the man page, from the clap definitions.
fn man() -> anyhow::Result<ExitCode> {
    let man = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
    man.render(&mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}

/// The config: `--config`, else `$TWEETTUI_CONFIG`, else `./config.json`,
/// else `config.json` in the platform config dir, else the built-in
/// default; where it came from is said once, unless it was asked for.
fn load_config(arg: &ConfigArg) -> anyhow::Result<Config> {
    let env = std::env::var_os("TWEETTUI_CONFIG").filter(|v| !v.is_empty());
    let platform = directories::ProjectDirs::from("", "", "tweettui")
        .map(|d| d.config_dir().join("config.json"))
        .filter(|p| p.is_file());
    let (path, from) = match (&arg.config, env) {
        (Some(p), _) => (Some(p.clone()), None),
        (None, Some(p)) => (Some(PathBuf::from(p)), Some("TWEETTUI_CONFIG")),
        (None, None) if std::path::Path::new("config.json").exists() => (None, None),
        (None, None) => match platform {
            Some(p) => (Some(p), Some("the platform config dir")),
            None => (None, None),
        },
    };
    let (config, source) = Config::resolve(path.as_deref())?;
    // TWEETTUI_SECRET wins over the config's "secret" (SPEC 3).
    let config = config.with_env_secret()?;
    match (source, from, path) {
        (ConfigSource::BuiltinDefault, ..) => eprintln!(
            "tweettui: no config file: using the built-in default (the five sites of config-sample.json)"
        ),
        (_, Some(from), Some(p)) => eprintln!("tweettui: config {} (from {from})", p.display()),
        _ => {}
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
    theme: Option<ui::ThemeName>,
) -> anyhow::Result<ExitCode> {
    let is_subcommand = <Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .any(|c| c.get_name() == site);
    if is_subcommand {
        // `tweettui --theme light demo`: an option before the subcommand
        // makes clap take the subcommand for a site name.
        anyhow::bail!(
            "`{site}` is a subcommand, not a site: put its options after it \
             (tweettui {site} --theme light, not tweettui --theme light {site})"
        );
    }
    let config = load_config(&common.config)?;
    let index = config
        .site_index(site)
        .map_err(|e| match did_you_mean(site) {
            Some(cmd) => anyhow!("{e}; did you mean `tweettui {cmd}`?"),
            None => e.into(),
        })?;
    if !headless && !tweettui::ui::has_terminal() {
        anyhow::bail!(
            "no terminal to draw the UI on: run `tweettui {site} --headless` (logs to stderr) instead"
        );
    }
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
        run_site_with_ui(opts, theme).await?;
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
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    tracing::info!(
        "site {name} up: peers on {}, control on {}, data in {}, {workers} async worker{}",
        site.peer_addr,
        site.control_addr,
        data_dir.display(),
        if workers == 1 { "" } else { "s" }
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
async fn run_site_with_ui(opts: SiteOptions, theme: Option<ui::ThemeName>) -> anyhow::Result<()> {
    let _log = tweettui::logs::to_file(&opts.data_dir, "tweettui.log")?;
    let log_file = opts.data_dir.join("tweettui.log");
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
        log_file: Some(log_file.clone()),
        theme,
    };
    let ended_by_ui = tokio::select! {
        r = ui::run(setup) => Some(r),
        r = site.finished() => {
            // The UI future is dropped: its guard restores the terminal.
            r.context("the site stopped")?;
            None
        }
    };
    // Not eprintln!: it panics when the terminal is gone (SIGHUP).
    let _ = writeln!(
        std::io::stderr(),
        "tweettui: {name}'s log is in {}",
        log_file.display()
    );
    match ended_by_ui {
        Some(ui) => {
            let stopped = site.stop().await;
            ui?;
            stopped
        }
        None => anyhow::bail!("the site {name} stopped by itself"),
    }
}

/// The subcommand a mistyped word (taken as a site name) was probably
/// meant to be: `dmeo` → `demo`.
fn did_you_mean(word: &str) -> Option<String> {
    let cmd = <Cli as clap::CommandFactory>::command();
    cmd.get_subcommands()
        .map(|c| c.get_name().to_string())
        .map(|name| (strsim::damerau_levenshtein(word, &name), name))
        .filter(|(d, name)| *d > 0 && *d <= 2 && *d < name.len())
        .min()
        .map(|(_, name)| name)
}
