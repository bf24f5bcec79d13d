//! Whose a data dir is (SPEC 6): the cluster (the site names in their order,
//! and a short fingerprint of them for messages) and the site's name, written
//! when the data dir is created, checked at every start.
//!
//! `identity.json`: `{"format": 1, "cluster": "3f2a9c1e", "sites": ["alice",
//! "bob", "carol"], "site": "alice"}`. Starting a data dir as another site,
//! or in another cluster, is refused with a message that names both: carol's
//! copied data dir started as alice would serve a log its peers hold
//! differently (and vote with promises that are not alice's).

use super::error::{IoContext, StorageError};
use super::frame::sync_dir;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::Path;

pub(crate) const FILE: &str = "identity.json";
const TMP: &str = "identity.json.tmp";
const FORMAT: u32 = 1;

/// Who a data dir belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The site names of the cluster, in config order.
    pub sites: Vec<String>,
    /// This site's name.
    pub site: String,
}

impl Identity {
    pub fn new(sites: Vec<String>, site: impl Into<String>) -> Self {
        Identity {
            sites,
            site: site.into(),
        }
    }

    /// A short fingerprint of the cluster (crc32 of the names in order),
    /// for messages: two clusters with other names or another order differ.
    pub fn cluster(&self) -> String {
        format!("{:08x}", crc32fast::hash(self.sites.join("\n").as_bytes()))
    }

    /// "site alice of cluster 3f2a9c1e (alice, bob, carol)"
    fn describe(&self) -> String {
        format!(
            "site {} of cluster {} ({})",
            self.site,
            self.cluster(),
            self.sites.join(", ")
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File1 {
    format: u32,
    cluster: String,
    sites: Vec<String>,
    site: String,
}

/// Checks that `dir` belongs to `me`; a data dir without an identity (new,
/// or written by a version before identities) gets `me`'s, durably.
pub(crate) fn claim(dir: &Path, me: &Identity) -> Result<(), StorageError> {
    let path = dir.join(FILE);
    let found = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return write(dir, me),
        Err(e) => return Err(StorageError::io(&path, e)),
    };
    let file: File1 = serde_json::from_slice(&found)
        .map_err(|e| StorageError::corrupt(&path, None, format!("not a data dir identity: {e}")))?;
    if file.format != FORMAT {
        return Err(StorageError::corrupt(
            &path,
            None,
            format!(
                "identity format {} is not known to this version (it knows {FORMAT})",
                file.format
            ),
        ));
    }
    let theirs = Identity::new(file.sites, file.site);
    if theirs != *me {
        return Err(StorageError::NotYours {
            dir: dir.to_path_buf(),
            belongs_to: theirs.describe(),
            asked: me.describe(),
        });
    }
    Ok(())
}

fn write(dir: &Path, me: &Identity) -> Result<(), StorageError> {
    let file = File1 {
        format: FORMAT,
        cluster: me.cluster(),
        sites: me.sites.clone(),
        site: me.site.clone(),
    };
    let mut bytes = serde_json::to_vec_pretty(&file).map_err(|source| StorageError::Encode {
        what: "data dir identity",
        source,
    })?;
    bytes.push(b'\n');
    let (tmp, path) = (dir.join(TMP), dir.join(FILE));
    let mut f = File::create(&tmp).at(&tmp)?;
    f.write_all(&bytes).at(&tmp)?;
    f.sync_all().at(&tmp)?;
    drop(f);
    fs::rename(&tmp, &path).at(&path)?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(site: &str, sites: &[&str]) -> Identity {
        Identity::new(sites.iter().map(|s| s.to_string()).collect(), site)
    }

    #[test]
    fn a_data_dir_refuses_another_site_and_another_cluster() {
        let dir = tempfile::tempdir().expect("temp dir");
        let alice = id("alice", &["alice", "bob", "carol"]);
        claim(dir.path(), &alice).expect("a new dir takes the identity");
        claim(dir.path(), &alice).expect("and keeps it");
        let as_bob = claim(dir.path(), &id("bob", &["alice", "bob", "carol"]));
        let e = as_bob.expect_err("another site").to_string();
        assert!(e.contains("site alice") && e.contains("site bob"), "{e}");
        assert!(e.contains(&dir.path().display().to_string()), "{e}");
        let other = claim(dir.path(), &id("alice", &["alice", "carol", "bob"]));
        let e = other.expect_err("another cluster").to_string();
        assert!(
            e.contains("alice, bob, carol") && e.contains("alice, carol, bob"),
            "{e}"
        );
        // Refusing changed nothing: alice still starts.
        claim(dir.path(), &alice).expect("alice again");
    }

    #[test]
    fn a_damaged_identity_is_refused_not_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join(FILE), b"{\"format\": 1, \"site\": ").expect("write");
        let e = claim(dir.path(), &id("alice", &["alice"])).expect_err("damaged");
        assert!(matches!(e, StorageError::Corrupt { .. }), "{e}");
    }
}
