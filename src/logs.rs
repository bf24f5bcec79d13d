//! Where the logs go, set up once per process: stderr for a headless site
//! (and `bench`), a file for the UI (never the screen under it). The level
//! comes from `RUST_LOG`, `info` by default.

use anyhow::Context;
use std::path::Path;
use tracing_subscriber::EnvFilter;

/// Keeps a file log flushed: hold it until the program ends.
pub type FileGuard = tracing_appender::non_blocking::WorkerGuard;

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Logs to stderr, with colour codes only when stderr is a terminal (a
/// log redirected to a file stays plain text) and `NO_COLOR` is not set.
pub fn to_stderr() {
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .try_init();
}

/// Logs to `dir/file`, without colour codes; creates `dir`.
pub fn to_file(dir: &Path, file: &str) -> anyhow::Result<FileGuard> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data dir {}", dir.display()))?;
    let appender = tracing_appender::rolling::never(dir, file);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(false)
        .with_writer(writer)
        .try_init();
    Ok(guard)
}

/// The log lines written while `f` runs on this thread, for tests that
/// check something is logged.
#[cfg(test)]
pub(crate) fn captured<T>(f: impl FnOnce() -> T) -> (T, String) {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl Write for Lines {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }
    let lines = Lines::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(lines.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&lines.0.lock().expect("not poisoned")).into_owned();
    (out, text)
}
