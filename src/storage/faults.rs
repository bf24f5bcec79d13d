//! A failing disk, for tests: the writes and syncs of the store pass
//! through [`check`], which in test builds fails them for the data dirs a
//! test named (see [`set`]) and is an empty inline function otherwise.

use std::io;
use std::path::Path;

/// What a write or sync is about to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Io {
    /// Bytes into a file, or a file made longer: what needs space.
    Write,
    /// A file made shorter (which a full disk still allows).
    Cut,
    /// fsync / fdatasync of a file or a directory.
    Sync,
}

/// How a failing disk fails.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A full disk: every write that needs space fails; cutting a file
    /// and syncing still work.
    Full,
    /// Writes go to the page cache, syncs fail: the file then holds bytes
    /// that were never acknowledged, and after a failed fsync the kernel
    /// may never write them (nor report it again).
    Syncs,
}

#[cfg(test)]
static FAILING: std::sync::Mutex<Vec<(std::path::PathBuf, Fault)>> =
    std::sync::Mutex::new(Vec::new());

/// Makes the writes and syncs under `dir` fail as `fault` says (`None`:
/// the disk works again).
#[cfg(test)]
pub(crate) fn set(dir: &Path, fault: Option<Fault>) {
    let mut failing = FAILING.lock().unwrap_or_else(|e| e.into_inner());
    failing.retain(|(d, _)| d != dir);
    if let Some(fault) = fault {
        failing.push((dir.to_path_buf(), fault));
    }
}

/// Fails `io` on `path` when a test made its data dir fail.
#[cfg(test)]
pub(crate) fn check(path: &Path, io: Io) -> io::Result<()> {
    let failing = FAILING.lock().unwrap_or_else(|e| e.into_inner());
    let fault = failing
        .iter()
        .find(|(dir, _)| path.starts_with(dir))
        .map(|&(_, f)| f);
    match (fault, io) {
        (Some(Fault::Full), Io::Write) => Err(io::Error::other(
            "injected disk failure: no space left on device",
        )),
        (Some(Fault::Syncs), Io::Sync) => Err(io::Error::other(
            "injected disk failure: input/output error on sync",
        )),
        _ => Ok(()),
    }
}

#[cfg(not(test))]
#[inline(always)]
pub(crate) fn check(_path: &Path, _io: Io) -> io::Result<()> {
    Ok(())
}

/// The data dirs whose checkpoints a test holds (see [`hold_checkpoints`]),
/// each with whether a checkpoint waits there now.
#[cfg(test)]
static HELD: (
    std::sync::Mutex<Vec<(std::path::PathBuf, bool)>>,
    std::sync::Condvar,
) = (std::sync::Mutex::new(Vec::new()), std::sync::Condvar::new());

/// Makes the background part of a checkpoint of data dir `dir` wait, just
/// before it writes `checkpoint.json`, until the test lets it go (`false`):
/// what the site does meanwhile can then be tested.
#[cfg(test)]
pub(crate) fn hold_checkpoints(dir: &Path, hold: bool) {
    let mut held = HELD.0.lock().unwrap_or_else(|e| e.into_inner());
    held.retain(|(d, _)| d != dir);
    if hold {
        held.push((dir.to_path_buf(), false));
    }
    HELD.1.notify_all();
}

/// Whether a checkpoint of `dir` waits where [`hold_checkpoints`] holds it.
#[cfg(test)]
pub(crate) fn checkpoint_waits(dir: &Path) -> bool {
    let held = HELD.0.lock().unwrap_or_else(|e| e.into_inner());
    held.iter().any(|(d, waits)| d == dir && *waits)
}

/// Where a checkpoint of `dir` waits while a test holds it.
#[cfg(test)]
pub(crate) fn checkpoint_gate(dir: &Path) {
    let mut held = HELD.0.lock().unwrap_or_else(|e| e.into_inner());
    while let Some(entry) = held.iter_mut().find(|(d, _)| d == dir) {
        entry.1 = true;
        held = HELD.1.wait(held).unwrap_or_else(|e| e.into_inner());
    }
}

#[cfg(not(test))]
#[inline(always)]
pub(crate) fn checkpoint_gate(_dir: &Path) {}
