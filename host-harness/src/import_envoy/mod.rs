//! `trieguard import-envoy`: an Envoy v3 `RouteConfiguration` as a trieguard policy with
//! `"precedence": "first_match"`, so the imported policy picks the route Envoy picks.
//!
//! ```text
//!   file (JSON/YAML) ──document──► RouteConfiguration(s) ──translate──► policy JSON
//!                                                           │ findings: constructs not
//!                                                           │ translated (route/vhost skipped)
//!                                                           ▼
//!                                      Engine::from_config (routes it refuses become findings)
//! ```
//!
//! Only fields this module knows are translated; every other field is a [`Finding`] with its
//! JSON path, and the virtual host or route holding it is skipped — or, with
//! [`Options::strict`], the import fails. Faithful translations worth knowing (a route Envoy
//! never reaches, a renamed route id, a sticky split's different hash) are [`Import::notes`].

mod document;
mod error;
mod translate;

#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::{Value, json};
use trieguard::config::PolicyConfig;
use trieguard::engine::Engine;

pub use error::ImportError;
use translate::{HostOut, Translator};

/// A construct and where it is in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// JSON path in the input file, e.g. `virtual_hosts[0].routes[3].match.safe_regex`.
    pub path: String,
    /// What it is and why it is not (or differently) translated.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

fn join(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Fail when anything cannot be translated faithfully, instead of skipping it.
    pub strict: bool,
    /// Which route configuration to import when the file holds several (by `name`).
    pub route_config: Option<String>,
}

/// A successful import.
#[derive(Debug, Clone)]
pub struct Import {
    /// The trieguard policy (it compiles).
    pub policy: Value,
    /// Which route configuration was imported (its `name`) and where it was in the file.
    pub source: String,
    /// Constructs not translated; their virtual host or route was skipped.
    pub skipped: Vec<Finding>,
    /// Faithful translations worth knowing.
    pub notes: Vec<Finding>,
    /// Number of routes in the policy.
    pub routes: usize,
}

/// Most rounds of "compile, drop the routes trieguard refuses": each round drops at least one.
const MAX_COMPILE_ROUNDS: usize = 8;

/// Imports the route configuration in `text` (JSON or YAML).
pub fn import(text: &str, options: &Options) -> Result<Import, ImportError> {
    let doc = document::parse(text)?;
    let found = document::route_configurations(&doc);
    let chosen = match (&options.route_config, found.as_slice()) {
        (_, []) => return Err(ImportError::NoRouteConfiguration),
        (None, [one]) => one.clone(),
        (None, _) => {
            return Err(ImportError::SeveralRouteConfigurations {
                names: found.iter().map(document::Located::name).collect(),
            });
        }
        (Some(name), _) => found
            .iter()
            .find(|l| l.name() == *name)
            .cloned()
            .ok_or_else(|| ImportError::RouteConfigurationNotFound {
                name: name.clone(),
                found: found.iter().map(document::Located::name).collect(),
            })?,
    };
    let base = chosen.path.clone();
    let at = |field: &str| {
        if base.is_empty() {
            field.to_owned()
        } else {
            format!("{base}.{field}")
        }
    };
    let mut translator = Translator::default();
    translator.config_fields(chosen.config, &base);
    let vhosts = match chosen.config.get("virtual_hosts") {
        Some(Value::Array(v)) => v.as_slice(),
        _ => {
            return Err(ImportError::Malformed {
                path: at("virtual_hosts"),
                message: "must be a list".into(),
            });
        }
    };
    let mut hosts: Vec<HostOut> = vhosts
        .iter()
        .enumerate()
        .filter_map(|(i, v)| translator.virtual_host(v, &at(&format!("virtual_hosts[{i}]"))))
        .collect();

    if options.strict && !translator.untranslatable.is_empty() {
        return Err(ImportError::Untranslatable(translator.untranslatable));
    }
    let mut rounds = 0;
    let policy = loop {
        hosts.retain(|h| !h.routes.is_empty());
        if hosts.is_empty() {
            return Err(ImportError::NothingImported(translator.untranslatable));
        }
        let policy = policy_json(&hosts);
        let refused = match compile(&policy) {
            Ok(()) => break policy,
            Err(error) => error,
        };
        rounds += 1;
        let mut dropped = false;
        for issue in &refused.issues {
            let Some((h, r)) = route_of_issue(&issue.path) else {
                return Err(ImportError::InvalidPolicy(refused));
            };
            if let Some(route) = hosts.get_mut(h).and_then(|host| host.routes.get_mut(r)) {
                translator.untranslatable.push(Finding {
                    path: route.source.clone(),
                    message: format!("trieguard refuses the translated route: {}", issue.message),
                });
                route.json = Value::Null;
                dropped = true;
            }
        }
        for host in &mut hosts {
            host.routes.retain(|r| !r.json.is_null());
        }
        if !dropped || rounds >= MAX_COMPILE_ROUNDS {
            return Err(ImportError::InvalidPolicy(refused));
        }
    };
    if options.strict && !translator.untranslatable.is_empty() {
        return Err(ImportError::Untranslatable(translator.untranslatable));
    }
    Ok(Import {
        routes: hosts.iter().map(|h| h.routes.len()).sum(),
        policy,
        source: format!(
            "{} at {}",
            chosen.name(),
            if base.is_empty() {
                "the top level"
            } else {
                &base
            }
        ),
        skipped: translator.untranslatable,
        notes: translator.notes,
    })
}

fn policy_json(hosts: &[HostOut]) -> Value {
    let hosts: Vec<Value> = hosts
        .iter()
        .map(|h| {
            let routes: Vec<&Value> = h.routes.iter().map(|r| &r.json).collect();
            json!({"domains": h.domains, "routes": routes})
        })
        .collect();
    json!({"precedence": "first_match", "hosts": hosts})
}

fn compile(policy: &Value) -> Result<(), trieguard::config::ConfigError> {
    let bytes = serde_json::to_vec(policy).unwrap_or_default();
    Engine::from_config(PolicyConfig::parse_json(&bytes)?).map(drop)
}

/// `hosts[h].routes[r]…` → (h, r).
fn route_of_issue(path: &str) -> Option<(usize, usize)> {
    let rest = path.strip_prefix("hosts[")?;
    let (h, rest) = rest.split_once(']')?;
    let rest = rest.strip_prefix(".routes[")?;
    let (r, _) = rest.split_once(']')?;
    Some((h.parse().ok()?, r.parse().ok()?))
}
