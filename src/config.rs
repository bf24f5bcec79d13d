//! The cluster config (SPEC section 3): which sites there are, where they
//! listen, the consensus timeouts, and the cluster secret.
//!
//! A config comes from `--config PATH`, else `./config.json` when it exists,
//! else the built-in default ([`Config::resolve`]). A bad config is refused
//! with a message that names the file, the field and the problem, e.g.
//! `config.json: sites[2].name: duplicate name 'bob' (also sites[0])`.

use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The file looked for in the current directory when no `--config` is given.
pub const DEFAULT_FILE: &str = "config.json";

/// What a site's control port is when the config does not say: its port plus this.
pub const CONTROL_PORT_OFFSET: u16 = 1000;

/// The longest site name.
pub const MAX_NAME_LEN: usize = 32;

/// Words the command line takes for itself (`tweettui demo`, `tweettui ctl`,
/// ...): a site with one of these names could not be named on the command
/// line, so they are refused (in any case).
pub const RESERVED_NAMES: &[&str] = &["ctl", "demo", "bench", "help"];

/// The environment variable that gives the cluster secret; it wins over the
/// config's `"secret"` ([`Config::with_env_secret`]).
pub const SECRET_ENV: &str = "TWEETTUI_SECRET";

/// What messages call the built-in default.
const BUILTIN: &str = "built-in default config";

fn default_timeout_ms() -> u64 {
    500
}

fn default_submit_timeout_ms() -> u64 {
    5000
}

/// The whole config file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The sites, in index order (site `i` is `sites[i]`).
    pub sites: Vec<SiteConfig>,
    /// How long a peer may take to answer a Paxos message before it counts
    /// as failed for that round.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// How long a submission may wait to be decided before it is answered 503.
    #[serde(default = "default_submit_timeout_ms")]
    pub submit_timeout_ms: u64,
    /// The cluster secret: with one, peer connections are authenticated
    /// (SPEC 3 and 7). `TWEETTUI_SECRET` wins over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
}

/// The cluster secret: what sites prove to each other that they know, and
/// the key their connections' keys are derived from. Its `Debug` does not
/// show it, so it never reaches a log by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A secret; `None` when it is empty.
    pub fn new(secret: impl Into<String>) -> Option<Secret> {
        let secret = secret.into();
        (!secret.is_empty()).then_some(Secret(secret))
    }

    /// The bytes the keys are made from.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes, not shown>)", self.0.len())
    }
}

/// One site: its user name and where it listens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The site's user name: a plain word (see [`check_name`]).
    pub name: String,
    /// The address the site listens on for its peers, and that they connect
    /// to: an IP address or a host name.
    pub addr: String,
    /// The port for Paxos messages.
    pub port: u16,
    /// The port of the control endpoint (on 127.0.0.1); default `port + 1000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_port: Option<u16>,
}

impl SiteConfig {
    /// The control port: the explicit `control_port`, else `port + 1000`
    /// (an error when that is beyond 65535).
    pub fn control_port(&self) -> Result<u16, ConfigError> {
        match self.control_port {
            Some(p) => Ok(p),
            None => self.port.checked_add(CONTROL_PORT_OFFSET).ok_or_else(|| {
                ConfigError::ControlPortOverflow {
                    site: self.name.clone(),
                    port: self.port,
                }
            }),
        }
    }

    /// `addr:port` for messages (IPv6 addresses in brackets).
    pub fn endpoint(&self) -> String {
        host_port(&self.addr, self.port)
    }
}

/// Where [`Config::resolve`] found the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// The file given with `--config`.
    Explicit(PathBuf),
    /// `./config.json`, found in the current directory.
    CurrentDir(PathBuf),
    /// No file: the built-in five sites (those of `config-sample.json`).
    BuiltinDefault,
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Explicit(p) | ConfigSource::CurrentDir(p) => {
                write!(f, "{}", p.display())
            }
            ConfigSource::BuiltinDefault => write!(
                f,
                "the {BUILTIN} (five sites alice..erin on 127.0.0.1:9000-9004)"
            ),
        }
    }
}

/// Why a config is refused, or a site cannot be found in it.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The OS error is in the message, not the error chain: printed with
    /// its chain (`{:#}`), it would show twice.
    #[error("{file}: cannot read the config: {error}")]
    Read { file: String, error: std::io::Error },
    /// The text is not JSON.
    #[error("{file}: invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but not of the config's shape: an unknown field, a missing one,
    /// a wrong type. `field` is empty at the top level.
    #[error("{file}: {}{message} (line {line}, column {column})", prefix(.field))]
    Shape {
        file: String,
        field: String,
        message: String,
        line: usize,
        column: usize,
    },
    /// Of the right shape, but a value is wrong.
    #[error("{file}: {field}: {problem}")]
    Invalid {
        file: String,
        field: String,
        problem: String,
    },
    #[error(
        "site '{site}': its control port would be port {port} + {CONTROL_PORT_OFFSET}, \
         beyond 65535: set \"control_port\""
    )]
    ControlPortOverflow { site: String, port: u16 },
    #[error("unknown site '{site}': give a site index {} or a name ({})", index_range(*.count), .names.join(", "))]
    UnknownSite {
        site: String,
        names: Vec<String>,
        count: usize,
    },
}

fn prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
}

fn index_range(count: usize) -> String {
    match count {
        0 => "(there are no sites)".to_string(),
        1 => "0".to_string(),
        n => format!("0 to {}", n - 1),
    }
}

impl Config {
    /// The built-in default: the five sites of SPEC section 3 and
    /// `config-sample.json`.
    pub fn builtin_default() -> Config {
        let site = |name: &str, port: u16| SiteConfig {
            name: name.to_string(),
            addr: "127.0.0.1".to_string(),
            port,
            control_port: None,
        };
        Config {
            sites: vec![
                site("alice", 9000),
                site("bob", 9001),
                site("carol", 9002),
                site("dave", 9003),
                site("erin", 9004),
            ],
            timeout_ms: default_timeout_ms(),
            submit_timeout_ms: default_submit_timeout_ms(),
            secret: None,
        }
    }

    /// Reads and checks the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            file: file.clone(),
            error,
        })?;
        Config::parse(&text, &file)
    }

    /// Parses and checks a config; `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        // Editors on Windows like to start a UTF-8 file with a byte order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            ConfigError::Syntax {
                file: file.to_string(),
                line,
                column,
                message: bare_message(&e),
            }
        })?;
        check_objects(&json, file)?;
        let config: Config = serde_json::from_str(text).map_err(|e| {
            let message = bare_message(&e);
            ConfigError::Shape {
                file: file.to_string(),
                field: locate(&json, &message),
                message,
                line: e.line(),
                column: e.column(),
            }
        })?;
        config.validate_as(file)?;
        Ok(config)
    }

    /// Checks the values (see [`validate_as`](Self::validate_as)); messages
    /// call the config "config".
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_as("config")
    }

    /// Checks the values, naming the config `file` in messages: at least one
    /// site; timeouts of at least 1 ms; every name a plain word, unique
    /// (ignoring case: names become data dir names) and not a command-line
    /// word; addresses that are an IP address or a host name; no port 0;
    /// no two sites on the same address:port; no control port that falls on
    /// another port of the same address; no control port beyond 65535; no
    /// empty secret.
    pub fn validate_as(&self, file: &str) -> Result<(), ConfigError> {
        let bad = |field: &str, problem: &str| invalid(file, field.into(), problem.into());
        if self.sites.is_empty() {
            return Err(bad(
                "sites",
                "the site list is empty: at least one site is needed",
            ));
        }
        if self.secret.as_ref().is_some_and(|s| s.0.is_empty()) {
            return Err(bad("secret", EMPTY_SECRET));
        }
        for (field, value) in [
            ("timeout_ms", self.timeout_ms),
            ("submit_timeout_ms", self.submit_timeout_ms),
        ] {
            if value == 0 {
                return Err(bad(
                    field,
                    "0 is not allowed: give a time of at least 1 (milliseconds)",
                ));
            }
        }
        // Every port in use so far.
        let mut taken: Vec<TakenPort> = Vec::new();
        for i in 0..self.sites.len() {
            self.check_site(file, i)?;
            self.claim_ports(file, i, &mut taken)?;
        }
        Ok(())
    }

    /// Site `i`'s name (a plain word, unique ignoring case), address and
    /// ports (not 0; a default control port within 65535).
    fn check_site(&self, file: &str, i: usize) -> Result<(), ConfigError> {
        let site = &self.sites[i];
        let bad = |f: &str, problem: String| invalid(file, format!("sites[{i}].{f}"), problem);
        check_name(&site.name).map_err(|p| bad("name", p))?;
        if let Some(j) = self.sites[..i]
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(&site.name))
        {
            let problem = if self.sites[j].name == site.name {
                format!("duplicate name '{}' (also sites[{j}])", site.name)
            } else {
                format!(
                    "duplicate name '{}' (also sites[{j}], '{}': names must differ in more than case)",
                    site.name, self.sites[j].name
                )
            };
            return Err(bad("name", problem));
        }
        check_addr(&site.addr).map_err(|p| bad("addr", p))?;
        if site.port == 0 {
            return Err(bad("port", "port 0 is not allowed (1 to 65535)".into()));
        }
        if site.control_port == Some(0) {
            return Err(bad(
                "control_port",
                "port 0 is not allowed (1 to 65535)".into(),
            ));
        }
        site.control_port().map_err(|_| {
            bad(
                "control_port",
                format!(
                    "the default control port, port {} + {CONTROL_PORT_OFFSET}, is beyond 65535: \
                     set \"control_port\"",
                    site.port
                ),
            )
        })?;
        Ok(())
    }

    /// Site `i`'s peer and control ports, unless another site's port on the
    /// same address has one of them already.
    fn claim_ports(
        &self,
        file: &str,
        i: usize,
        taken: &mut Vec<TakenPort>,
    ) -> Result<(), ConfigError> {
        let site = &self.sites[i];
        let field = |f: &str| format!("sites[{i}].{f}");
        let control = site.control_port().unwrap_or_default();
        let key = addr_key(&site.addr);
        let explicit = site.control_port.is_some();
        for (port, f, is_control) in [
            (site.port, field("port"), false),
            (control, field("control_port"), true),
        ] {
            if let Some(other) = taken.iter().find(|t| t.addr == key && t.port == port) {
                let other_is_control = other.field.ends_with("control_port");
                let problem = if !is_control && !other_is_control {
                    format!(
                        "duplicate address:port {} (also {})",
                        host_port(&site.addr, port),
                        other.field.trim_end_matches(".port")
                    )
                } else {
                    let implicit =
                        (is_control && !explicit) || (other_is_control && !other.explicit);
                    format!(
                        "port {port} on {} is also {}{}",
                        site.addr,
                        other.field,
                        if implicit {
                            " (a control port is port + 1000 unless \"control_port\" says otherwise)"
                        } else {
                            ""
                        }
                    )
                };
                return Err(invalid(file, f, problem));
            }
            taken.push(TakenPort {
                addr: key.clone(),
                port,
                field: f,
                explicit,
            });
        }
        Ok(())
    }

    /// Finds a site by index ("0") or name ("alice"; a name that differs
    /// only in case is accepted too).
    pub fn site_index(&self, site: &str) -> Result<usize, ConfigError> {
        let found = if !site.is_empty() && site.bytes().all(|b| b.is_ascii_digit()) {
            site.parse::<usize>().ok().filter(|&i| i < self.sites.len())
        } else {
            self.sites.iter().position(|s| s.name == site).or_else(|| {
                self.sites
                    .iter()
                    .position(|s| s.name.eq_ignore_ascii_case(site))
            })
        };
        found.ok_or_else(|| ConfigError::UnknownSite {
            site: site.to_string(),
            names: self.names(),
            count: self.sites.len(),
        })
    }

    /// The config from `explicit` when given, else `./config.json` when it
    /// exists, else the built-in default; and where it came from, so the
    /// caller can say so.
    pub fn resolve(explicit: Option<&Path>) -> Result<(Config, ConfigSource), ConfigError> {
        Config::resolve_in(explicit, Path::new("."))
    }

    /// [`resolve`](Self::resolve), looking for `config.json` in `dir`
    /// instead of the current directory.
    pub fn resolve_in(
        explicit: Option<&Path>,
        dir: &Path,
    ) -> Result<(Config, ConfigSource), ConfigError> {
        if let Some(path) = explicit {
            return Ok((
                Config::load(path)?,
                ConfigSource::Explicit(path.to_path_buf()),
            ));
        }
        let path = dir.join(DEFAULT_FILE);
        match path.try_exists() {
            Ok(true) => Ok((Config::load(&path)?, ConfigSource::CurrentDir(path))),
            Ok(false) => Ok((Config::builtin_default(), ConfigSource::BuiltinDefault)),
            Err(error) => Err(ConfigError::Read {
                file: path.display().to_string(),
                error,
            }),
        }
    }

    /// The site names (the users), in index order.
    pub fn names(&self) -> Vec<String> {
        self.sites.iter().map(|s| s.name.clone()).collect()
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn submit_timeout(&self) -> Duration {
        Duration::from_millis(self.submit_timeout_ms)
    }

    /// This config with the secret of the environment variable
    /// `TWEETTUI_SECRET` when it is set (it wins over `"secret"`).
    pub fn with_env_secret(self) -> Result<Config, ConfigError> {
        self.with_secret_from(std::env::var_os(SECRET_ENV))
    }

    /// [`with_env_secret`](Self::with_env_secret) with the variable's value
    /// given (`None`: not set).
    pub fn with_secret_from(mut self, value: Option<OsString>) -> Result<Config, ConfigError> {
        if let Some(secret) = Secret::from_env_value(value)? {
            self.secret = Some(secret);
        }
        Ok(self)
    }
}

impl Secret {
    /// The secret `TWEETTUI_SECRET` gives, if it is set.
    pub fn from_env() -> Result<Option<Secret>, ConfigError> {
        Secret::from_env_value(std::env::var_os(SECRET_ENV))
    }

    /// The secret of the variable's value: an empty or non-UTF-8 value is
    /// refused (rather than quietly running without authentication).
    fn from_env_value(value: Option<OsString>) -> Result<Option<Secret>, ConfigError> {
        let Some(value) = value else {
            return Ok(None);
        };
        let bad = |problem: &str| invalid("environment", SECRET_ENV.into(), problem.into());
        let value = value
            .into_string()
            .map_err(|_| bad("the secret is not valid UTF-8"))?;
        Secret::new(value)
            .map(Some)
            .ok_or_else(|| bad(EMPTY_SECRET))
    }
}

const EMPTY_SECRET: &str = "the secret is empty: give a long random string \
                            (e.g. the output of `openssl rand -hex 32`), or leave it out";

/// A port a site of the config uses, while checking it.
struct TakenPort {
    /// The address, normalised ([`addr_key`]).
    addr: String,
    port: u16,
    /// The field that gives it (`sites[1].control_port`).
    field: String,
    /// The site's control port is explicit (not port + 1000).
    explicit: bool,
}

fn invalid(file: &str, field: String, problem: String) -> ConfigError {
    ConfigError::Invalid {
        file: file.to_string(),
        field,
        problem,
    }
}

/// The users of a loopback cluster's sites, in order (`Config::loopback`).
pub const LOOPBACK_NAMES: [&str; 7] = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"];

impl Config {
    /// A cluster of `sites` sites (1 to 7, named from [`LOOPBACK_NAMES`]) on
    /// free loopback ports, control ports explicit: for the demo, the
    /// benchmark and tests, which run every site in one process.
    pub fn loopback(sites: usize) -> anyhow::Result<Config> {
        if !(1..=LOOPBACK_NAMES.len()).contains(&sites) {
            anyhow::bail!(
                "a loopback cluster has 1 to {} sites, not {sites}",
                LOOPBACK_NAMES.len()
            );
        }
        let ports = free_ports(2 * sites)?;
        let mut config = Config::builtin_default();
        config.sites = (0..sites)
            .map(|i| SiteConfig {
                name: LOOPBACK_NAMES[i].to_string(),
                addr: "127.0.0.1".to_string(),
                port: ports[2 * i],
                control_port: Some(ports[2 * i + 1]),
            })
            .collect();
        config.validate()?;
        Ok(config)
    }
}

/// Ports nobody listens on now: bound on 127.0.0.1:0 all at once (so they
/// differ), then released.
pub fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    use anyhow::Context;
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .context("cannot find free ports on 127.0.0.1")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

impl Default for Config {
    fn default() -> Self {
        Config::builtin_default()
    }
}

/// Is `name` a plain word: 1 to 32 ASCII letters, digits, '_' or '-',
/// starting with a letter, and not one of [`RESERVED_NAMES`]? The problem
/// otherwise.
pub fn check_name(name: &str) -> Result<(), String> {
    const RULE: &str = "a name is a plain word: 1 to 32 ASCII letters, digits, '_' or '-', \
                        starting with a letter";
    if name.is_empty() {
        return Err(format!("the name is empty ({RULE})"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!(
            "'{name}' is {} characters long ({RULE})",
            name.chars().count()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!("'{name}' does not start with a letter ({RULE})"));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(format!(
            "'{name}' is not a plain word: it contains {c:?} ({RULE})"
        ));
    }
    if let Some(word) = RESERVED_NAMES.iter().find(|w| w.eq_ignore_ascii_case(name)) {
        return Err(format!(
            "'{name}' is a word of the command line (tweettui {word}): choose another name"
        ));
    }
    Ok(())
}

/// Is `addr` an IP address or a host name? The problem otherwise.
fn check_addr(addr: &str) -> Result<(), String> {
    if addr.is_empty() {
        return Err(
            "the address is empty: give an IP address or a host name, e.g. \"127.0.0.1\"".into(),
        );
    }
    if addr.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let hostname = addr.len() <= 253
        && addr.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if hostname {
        return Ok(());
    }
    let hint = if addr.contains(':') && !addr.contains(char::is_whitespace) {
        " (the port goes in \"port\"; an IPv6 address goes without brackets)"
    } else {
        ""
    };
    Err(format!(
        "'{addr}' is neither an IP address nor a host name{hint}"
    ))
}

/// The form of an address under which two spellings of one IP compare equal.
fn addr_key(addr: &str) -> String {
    match addr.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => addr.to_ascii_lowercase(),
    }
}

fn host_port(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// serde would take a struct written as an array (`["alice", "127.0.0.1",
/// 9000]`); the config is only ever written with field names.
fn check_objects(json: &serde_json::Value, file: &str) -> Result<(), ConfigError> {
    let bad = |field: String, problem: &str| ConfigError::Invalid {
        file: file.to_string(),
        field,
        problem: problem.to_string(),
    };
    let Some(obj) = json.as_object() else {
        return Err(bad(
            "(top level)".into(),
            "the config is a JSON object: {\"sites\": [...]}",
        ));
    };
    if let Some(sites) = obj.get("sites").and_then(|s| s.as_array()) {
        if let Some(i) = sites.iter().position(|s| !s.is_object()) {
            return Err(bad(
                format!("sites[{i}]"),
                "a site is a JSON object: {\"name\": \"...\", \"addr\": \"...\", \"port\": n}",
            ));
        }
    }
    Ok(())
}

/// serde_json's message without its " at line L column C" tail (the
/// position is reported separately).
fn bare_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let tail = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&tail).unwrap_or(&full).to_string()
}

/// The field a shape error is about: the first place in `json` whose own
/// error reads `message` ("" for the top level).
fn locate(json: &serde_json::Value, message: &str) -> String {
    use serde_json::Value as J;
    fn err_of<T: for<'de> Deserialize<'de>>(v: &J) -> Option<String> {
        T::deserialize(v).err().map(|e| e.to_string())
    }
    let mut candidates: Vec<(String, Option<String>)> = Vec::new();
    if let Some(obj) = json.as_object() {
        for (key, value) in obj {
            match key.as_str() {
                "sites" => match value.as_array() {
                    None => candidates.push(("sites".into(), err_of::<Vec<SiteConfig>>(value))),
                    Some(sites) => {
                        for (i, site) in sites.iter().enumerate() {
                            if let Some(fields) = site.as_object() {
                                for (k, v) in fields {
                                    let err = match k.as_str() {
                                        "name" | "addr" => err_of::<String>(v),
                                        "port" => err_of::<u16>(v),
                                        "control_port" => err_of::<Option<u16>>(v),
                                        _ => None,
                                    };
                                    candidates.push((format!("sites[{i}].{k}"), err));
                                }
                            }
                            candidates.push((format!("sites[{i}]"), err_of::<SiteConfig>(site)));
                        }
                    }
                },
                "timeout_ms" | "submit_timeout_ms" => {
                    candidates.push((key.clone(), err_of::<u64>(value)))
                }
                "secret" => candidates.push((key.clone(), err_of::<String>(value))),
                _ => {}
            }
        }
    }
    candidates
        .into_iter()
        .find(|(_, err)| err.as_deref() == Some(message))
        .map(|(field, _)| field)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../config-sample.json");

    /// The message of parsing `text` as "config.json".
    fn error(text: &str) -> String {
        match Config::parse(text, "config.json") {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// A config of sites given as (name, addr, port, control_port) JSON.
    fn sites(sites: &[&str]) -> String {
        format!("{{\"sites\": [{}]}}", sites.join(","))
    }

    #[test]
    fn the_sample_is_the_builtin_default() {
        let sample = Config::parse(SAMPLE, "config-sample.json").unwrap();
        assert_eq!(sample, Config::builtin_default());
        assert_eq!(sample.timeout_ms, 500);
        assert_eq!(sample.submit_timeout_ms, 5000);
        assert_eq!(sample.names(), ["alice", "bob", "carol", "dave", "erin"]);
        assert_eq!(sample.sites[4].endpoint(), "127.0.0.1:9004");
        assert_eq!(sample.sites[0].control_port().unwrap(), 10000);
        Config::builtin_default().validate().unwrap();
        assert_eq!(Config::default(), Config::builtin_default());
    }

    #[test]
    fn a_config_round_trips_through_json() {
        let mut c = Config::builtin_default();
        c.sites[1].control_port = Some(7001);
        c.timeout_ms = 250;
        let text = serde_json::to_string_pretty(&c).unwrap();
        assert_eq!(Config::parse(&text, "x").unwrap(), c);
    }

    #[test]
    fn optional_fields() {
        let c = Config::parse(
            r#"{"sites": [{"name": "solo", "addr": "::1", "port": 7000, "control_port": 7100}],
                "timeout_ms": 200, "submit_timeout_ms": 900}"#,
            "c.json",
        )
        .unwrap();
        assert_eq!(c.sites[0].control_port().unwrap(), 7100);
        assert_eq!(c.sites[0].endpoint(), "[::1]:7000");
        assert_eq!(c.timeout(), Duration::from_millis(200));
        assert_eq!(c.submit_timeout(), Duration::from_millis(900));
        // A byte order mark is fine; so are host names.
        let c = Config::parse(
            "\u{feff}{\"sites\": [{\"name\": \"a\", \"addr\": \"box-1.lan\", \"port\": 1}]}",
            "c.json",
        )
        .unwrap();
        assert_eq!(c.sites[0].addr, "box-1.lan");
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let err = error("{\n  \"sites\": [\n    { \"name\": \"alice\" \"addr\": \"x\" }\n]}");
        assert!(
            err.starts_with("config.json: invalid JSON at line 3, column 23: expected `,` or `}`"),
            "{err}"
        );
        let err = error("");
        assert!(
            err.starts_with("config.json: invalid JSON at line 1, column 0"),
            "{err}"
        );
        let err = error(r#"{"sites": []} trailing"#);
        assert!(
            err.contains("invalid JSON at line 1, column 15: trailing characters"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_are_refused_with_their_place() {
        let err = error(&sites(&[
            r#"{"name": "a", "addr": "h", "port": 1}"#,
            r#"{"name": "b", "addr": "h", "prot": 2}"#,
        ]));
        assert!(
            err.starts_with("config.json: sites[1]: unknown field `prot`, expected one of"),
            "{err}"
        );
        assert!(err.ends_with("(line 1, column 82)"), "{err}");

        let err = error(r#"{"sites": [], "timeout": 5}"#);
        assert!(
            err.starts_with(
                "config.json: unknown field `timeout`, expected one of `sites`, `timeout_ms`"
            ),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_name_the_field() {
        let err = error(&sites(&[r#"{"name": "a", "addr": "h", "port": "9000"}"#]));
        assert!(
            err.starts_with(
                "config.json: sites[0].port: invalid type: string \"9000\", expected u16"
            ),
            "{err}"
        );
        let err = error(&sites(&[r#"{"name": "a", "addr": "h", "port": 70000}"#]));
        assert!(
            err.starts_with(
                "config.json: sites[0].port: invalid value: integer `70000`, expected u16"
            ),
            "{err}"
        );
        let err = error(&sites(&[
            r#"{"name": "a", "addr": "h", "port": 1}"#,
            r#"{"name": 7, "addr": "h", "port": 2}"#,
        ]));
        assert!(
            err.starts_with("config.json: sites[1].name: invalid type: integer `7`"),
            "{err}"
        );
        let err = error(&sites(&[r#"{"name": "a", "port": 1}"#]));
        assert!(
            err.starts_with("config.json: sites[0]: missing field `addr`"),
            "{err}"
        );
        let err = error(r#"{"timeout_ms": 5}"#);
        assert!(
            err.starts_with("config.json: missing field `sites`"),
            "{err}"
        );
        let err = error(r#"{"sites": {}}"#);
        assert!(
            err.starts_with("config.json: sites: invalid type: map"),
            "{err}"
        );
        let err = error(r#"{"sites": [], "timeout_ms": -1}"#);
        assert!(
            err.starts_with("config.json: timeout_ms: invalid value: integer `-1`"),
            "{err}"
        );
        assert_eq!(
            error("[]"),
            "config.json: (top level): the config is a JSON object: {\"sites\": [...]}"
        );
        let err = error(r#"{"sites": [["alice", "127.0.0.1", 9000]]}"#);
        assert!(
            err.starts_with("config.json: sites[0]: a site is a JSON object"),
            "{err}"
        );
    }

    #[test]
    fn empty_site_list() {
        assert_eq!(
            error(r#"{"sites": []}"#),
            "config.json: sites: the site list is empty: at least one site is needed"
        );
    }

    #[test]
    fn duplicate_names() {
        let mut c = Config::builtin_default();
        c.sites[2].name = "bob".into();
        assert_eq!(
            error(&serde_json::to_string(&c).unwrap()),
            "config.json: sites[2].name: duplicate name 'bob' (also sites[1])"
        );
        c.sites[2].name = "Alice".into();
        let err = error(&serde_json::to_string(&c).unwrap());
        assert!(
            err.starts_with(
                "config.json: sites[2].name: duplicate name 'Alice' (also sites[0], 'alice'"
            ),
            "{err}"
        );
    }

    #[test]
    fn names_are_plain_words() {
        let bad = [
            (
                "bob smith",
                "'bob smith' is not a plain word: it contains ' '",
            ),
            ("", "the name is empty"),
            ("9lives", "'9lives' does not start with a letter"),
            ("_x", "does not start with a letter"),
            ("zoë", "contains 'ë'"),
            ("a.b", "contains '.'"),
            (&"x".repeat(33), "is 33 characters long"),
            (
                "demo",
                "'demo' is a word of the command line (tweettui demo)",
            ),
            ("CTL", "'CTL' is a word of the command line (tweettui ctl)"),
        ];
        for (name, want) in bad {
            let mut c = Config::builtin_default();
            c.sites[1].name = name.to_string();
            let err = error(&serde_json::to_string(&c).unwrap());
            assert!(err.starts_with("config.json: sites[1].name: "), "{err}");
            assert!(err.contains(want), "{name:?}: {err}");
        }
        for good in ["a", "Bob_2", "x-y", &"x".repeat(32), "demo2"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn ports_and_timeouts_cannot_be_zero() {
        let mut c = Config::builtin_default();
        c.sites[3].port = 0;
        assert_eq!(
            error(&serde_json::to_string(&c).unwrap()),
            "config.json: sites[3].port: port 0 is not allowed (1 to 65535)"
        );
        let mut c = Config::builtin_default();
        c.sites[0].control_port = Some(0);
        assert_eq!(
            error(&serde_json::to_string(&c).unwrap()),
            "config.json: sites[0].control_port: port 0 is not allowed (1 to 65535)"
        );
        for field in ["timeout_ms", "submit_timeout_ms"] {
            let text =
                format!(r#"{{"sites": [{{"name": "a", "addr": "h", "port": 1}}], "{field}": 0}}"#);
            assert_eq!(
                error(&text),
                format!("config.json: {field}: 0 is not allowed: give a time of at least 1 (milliseconds)")
            );
        }
    }

    #[test]
    fn addresses() {
        let mut c = Config::builtin_default();
        c.sites[1].addr = String::new();
        let err = error(&serde_json::to_string(&c).unwrap());
        assert!(
            err.starts_with("config.json: sites[1].addr: the address is empty"),
            "{err}"
        );
        c.sites[1].addr = "127.0.0.1:9001".into();
        let err = error(&serde_json::to_string(&c).unwrap());
        assert!(
            err.starts_with("config.json: sites[1].addr: '127.0.0.1:9001' is neither an IP address nor a host name (the port goes in \"port\""),
            "{err}"
        );
        c.sites[1].addr = " 10.0.0.1".into();
        assert!(error(&serde_json::to_string(&c).unwrap()).contains("sites[1].addr"));
    }

    #[test]
    fn duplicate_endpoints() {
        let mut c = Config::builtin_default();
        c.sites[3].port = 9001;
        assert_eq!(
            error(&serde_json::to_string(&c).unwrap()),
            "config.json: sites[3].port: duplicate address:port 127.0.0.1:9001 (also sites[1])"
        );
        // Different spellings of one address are one address.
        let err = error(&sites(&[
            r#"{"name": "a", "addr": "::1", "port": 5}"#,
            r#"{"name": "b", "addr": "0:0:0:0:0:0:0:1", "port": 5}"#,
        ]));
        assert!(
            err.contains(
                "sites[1].port: duplicate address:port [0:0:0:0:0:0:0:1]:5 (also sites[0])"
            ),
            "{err}"
        );
        // The same port on different hosts is fine.
        Config::parse(
            &sites(&[
                r#"{"name": "a", "addr": "10.0.0.1", "port": 9000}"#,
                r#"{"name": "b", "addr": "10.0.0.2", "port": 9000}"#,
            ]),
            "c.json",
        )
        .unwrap();
    }

    #[test]
    fn control_ports_must_not_collide() {
        // An implicit control port (9000 + 1000) on another site's port.
        let mut c = Config::builtin_default();
        c.sites[2].port = 10000;
        let err = error(&serde_json::to_string(&c).unwrap());
        assert!(
            err.starts_with("config.json: sites[2].port: port 10000 on 127.0.0.1 is also sites[0].control_port (a control port is port + 1000"),
            "{err}"
        );
        // Two explicit control ports.
        let mut c = Config::builtin_default();
        c.sites[0].control_port = Some(8000);
        c.sites[4].control_port = Some(8000);
        assert_eq!(
            error(&serde_json::to_string(&c).unwrap()),
            "config.json: sites[4].control_port: port 8000 on 127.0.0.1 is also sites[0].control_port"
        );
        // A control port on its own site's port.
        let mut c = Config::builtin_default();
        c.sites[1].control_port = Some(9001);
        assert_eq!(
            error(&serde_json::to_string(&c).unwrap()),
            "config.json: sites[1].control_port: port 9001 on 127.0.0.1 is also sites[1].port"
        );
        // An explicit control port on a later site's port.
        let mut c = Config::builtin_default();
        c.sites[0].control_port = Some(9003);
        let err = error(&serde_json::to_string(&c).unwrap());
        assert_eq!(
            err,
            "config.json: sites[3].port: port 9003 on 127.0.0.1 is also sites[0].control_port"
        );
    }

    #[test]
    fn control_port_overflow() {
        let site = SiteConfig {
            name: "a".into(),
            addr: "h".into(),
            port: 65000,
            control_port: None,
        };
        let err = site.control_port().unwrap_err().to_string();
        assert!(err.contains("port 65000 + 1000, beyond 65535"), "{err}");
        let err = error(&sites(&[r#"{"name": "a", "addr": "h", "port": 65000}"#]));
        assert!(
            err.starts_with("config.json: sites[0].control_port: the default control port, port 65000 + 1000, is beyond 65535"),
            "{err}"
        );
        let ok = Config::parse(
            &sites(&[r#"{"name": "a", "addr": "h", "port": 65000, "control_port": 64000}"#]),
            "c.json",
        )
        .unwrap();
        assert_eq!(ok.sites[0].control_port().unwrap(), 64000);
    }

    #[test]
    fn site_index_by_name_or_index() {
        let c = Config::builtin_default();
        assert_eq!(c.site_index("0").unwrap(), 0);
        assert_eq!(c.site_index("4").unwrap(), 4);
        assert_eq!(c.site_index("alice").unwrap(), 0);
        assert_eq!(c.site_index("carol").unwrap(), 2);
        assert_eq!(c.site_index("Carol").unwrap(), 2);
        for bad in ["5", "zed", "", "-1", "99999999999999999999999"] {
            let err = c.site_index(bad).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("unknown site '{bad}': give a site index 0 to 4 or a name (alice, bob, carol, dave, erin)")
            );
        }
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let err = Config::load(&missing).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: cannot read the config: ", missing.display())),
            "{err}"
        );

        let path = dir.path().join("bad.json");
        std::fs::write(&path, r#"{"sites": []}"#).unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: sites: the site list is empty: at least one site is needed",
                path.display()
            )
        );
    }

    #[test]
    fn the_secret_is_optional_hidden_and_not_empty() {
        let c = Config::parse(
            r#"{"sites": [{"name": "a", "addr": "h", "port": 1}], "secret": "s3cret"}"#,
            "c.json",
        )
        .unwrap();
        assert_eq!(c.secret, Secret::new("s3cret"));
        assert_eq!(
            c.secret.as_ref().map(Secret::as_bytes),
            Some(&b"s3cret"[..])
        );
        assert!(!format!("{c:?}").contains("s3cret"), "{c:?}");
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(Config::parse(&text, "x").unwrap(), c);
        assert!(!serde_json::to_string(&Config::builtin_default())
            .unwrap()
            .contains("secret"));

        let err = error(r#"{"sites": [{"name": "a", "addr": "h", "port": 1}], "secret": ""}"#);
        assert!(
            err.starts_with("config.json: secret: the secret is empty"),
            "{err}"
        );
        let err = error(r#"{"sites": [{"name": "a", "addr": "h", "port": 1}], "secret": 7}"#);
        assert!(
            err.starts_with("config.json: secret: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn the_environment_secret_wins() {
        let mut c = Config::builtin_default();
        c.secret = Secret::new("from file");
        let same = c.clone().with_secret_from(None).unwrap();
        assert_eq!(same.secret, Secret::new("from file"));
        let env = c.clone().with_secret_from(Some("from env".into())).unwrap();
        assert_eq!(env.secret, Secret::new("from env"));
        let none = Config::builtin_default()
            .with_secret_from(Some("x".into()))
            .unwrap();
        assert_eq!(none.secret, Secret::new("x"));
        let err = c.with_secret_from(Some("".into())).unwrap_err().to_string();
        assert!(
            err.starts_with("environment: TWEETTUI_SECRET: the secret is empty"),
            "{err}"
        );
    }

    #[test]
    fn resolve_prefers_explicit_then_current_dir_then_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let (c, source) = Config::resolve_in(None, dir.path()).unwrap();
        assert_eq!(source, ConfigSource::BuiltinDefault);
        assert_eq!(c, Config::builtin_default());
        assert!(source.to_string().contains("built-in default"));

        let local = dir.path().join("config.json");
        std::fs::write(
            &local,
            sites(&[r#"{"name": "here", "addr": "h", "port": 1}"#]),
        )
        .unwrap();
        let (c, source) = Config::resolve_in(None, dir.path()).unwrap();
        assert_eq!(source, ConfigSource::CurrentDir(local.clone()));
        assert_eq!(c.names(), ["here"]);

        let other = dir.path().join("other.json");
        std::fs::write(&other, SAMPLE).unwrap();
        let (c, source) = Config::resolve_in(Some(&other), dir.path()).unwrap();
        assert_eq!(source, ConfigSource::Explicit(other.clone()));
        assert_eq!(c, Config::builtin_default());
        assert_eq!(source.to_string(), other.display().to_string());

        // An explicit file that is missing is an error, not a fallback.
        assert!(Config::resolve_in(Some(&dir.path().join("gone.json")), dir.path()).is_err());
        // A broken ./config.json is an error too.
        std::fs::write(&local, "{").unwrap();
        let err = Config::resolve_in(None, dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("config.json: invalid JSON at line 1"), "{err}");
    }

    #[test]
    fn loopback_uses_distinct_free_ports() {
        let c = Config::loopback(5).unwrap();
        let mut ports: Vec<u16> = c
            .sites
            .iter()
            .flat_map(|s| [s.port, s.control_port.unwrap()])
            .collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 10);
        assert_eq!(c.names(), ["alice", "bob", "carol", "dave", "erin"]);
        assert!(Config::loopback(0).is_err());
        assert!(Config::loopback(8).is_err());
    }
}
