//! A folder of policy files as an operator publishes them for a `fetch_policy` source: the
//! policy, then its `sha256sum` digest file, each with a modification time of its own.
//!
//! Static servers (nginx among them) derive `ETag` from the modification time in seconds and
//! the size, and a digest file always has the same size; so every publication here moves both
//! files' modification times forward by a whole second, and a changed file always gets a new
//! `ETag`, however fast a test publishes.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use trieguard::source::digest::PolicyDigest;

/// Why a publication failed.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {source}")]
pub struct PublishError {
    what: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// A folder holding `<name>` and `<name>.sha256`.
pub struct PolicyFiles {
    dir: tempfile::TempDir,
    name: String,
    /// Seconds added to "now" for the next modification time (always increasing).
    next_mtime_offset: u64,
}

impl PolicyFiles {
    /// An empty folder for policy `name` (e.g. `policy.json`).
    pub fn new(name: &str) -> Result<Self, PublishError> {
        let dir = tempfile::tempdir().map_err(|source| PublishError {
            what: "creating",
            path: std::env::temp_dir(),
            source,
        })?;
        Ok(Self {
            dir,
            name: name.to_owned(),
            next_mtime_offset: 0,
        })
    }

    /// The folder to serve.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The URL path of the policy (`/<name>`).
    pub fn url_path(&self) -> String {
        format!("/{}", self.name)
    }

    /// Publishes `policy` the way operators are told to: the policy first, its digest last.
    pub fn publish(&mut self, policy: &[u8]) -> Result<PolicyDigest, PublishError> {
        let digest = PolicyDigest::of(policy);
        self.write(&self.name.clone(), policy)?;
        self.publish_digest_only(&digest)?;
        Ok(digest)
    }

    /// Replaces only the digest file (a digest that does not match the policy, in tests).
    pub fn publish_digest_only(&mut self, digest: &PolicyDigest) -> Result<(), PublishError> {
        let line = format!("{}  {}\n", digest.to_hex(), self.name);
        self.write(&format!("{}.sha256", self.name), line.as_bytes())
    }

    /// Replaces only the policy file (publishing without its digest, in tests).
    pub fn publish_policy_only(&mut self, policy: &[u8]) -> Result<(), PublishError> {
        self.write(&self.name.clone(), policy)
    }

    fn write(&mut self, file: &str, bytes: &[u8]) -> Result<(), PublishError> {
        let path = self.dir.path().join(file);
        let staged = self.dir.path().join(format!(".{file}.next"));
        let fail = |what| {
            let path = path.clone();
            move |source| PublishError { what, path, source }
        };
        fs::write(&staged, bytes).map_err(fail("writing"))?;
        self.next_mtime_offset += 1;
        let mtime = SystemTime::now() + Duration::from_secs(self.next_mtime_offset);
        fs::File::options()
            .write(true)
            .open(&staged)
            .and_then(|f| f.set_modified(mtime))
            .map_err(fail("setting the modification time of"))?;
        fs::rename(&staged, &path).map_err(fail("renaming into"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_publication_moves_modification_times_forward() {
        let mut files = PolicyFiles::new("policy.json").unwrap();
        let mtime = |f: &PolicyFiles, name: &str| {
            fs::metadata(f.root().join(name))
                .unwrap()
                .modified()
                .unwrap()
        };
        let first = files.publish(b"{}").unwrap();
        let policy_1 = mtime(&files, "policy.json");
        let digest_1 = mtime(&files, "policy.json.sha256");
        assert!(digest_1 > policy_1, "the digest is written last");
        files.publish(b"{}").unwrap();
        assert!(mtime(&files, "policy.json.sha256") > digest_1);
        let text = fs::read_to_string(files.root().join("policy.json.sha256")).unwrap();
        assert_eq!(text, format!("{}  policy.json\n", first.to_hex()));
        assert_eq!(files.url_path(), "/policy.json");
    }
}
