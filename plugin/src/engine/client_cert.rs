//! Client-certificate provider (being wired to the `certs` crate).

use crate::config::{ClientCertProviderConfig, ConfigIssue};
use crate::engine::auth::AuthOutcome;
use crate::engine::request::Request;

/// A compiled client-certificate trust store.
pub struct ClientCertProvider {
    _private: (),
}

impl ClientCertProvider {
    /// Refused until wired.
    pub fn compile(_config: &ClientCertProviderConfig, at: &str) -> Result<Self, Vec<ConfigIssue>> {
        Err(vec![ConfigIssue {
            path: at.to_owned(),
            message: "not wired yet".to_owned(),
        }])
    }

    /// Never called.
    pub fn authenticate(&self, _request: &Request) -> AuthOutcome {
        AuthOutcome::Absent
    }
}
