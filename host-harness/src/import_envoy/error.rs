//! What can make an import fail as a whole.

use trieguard::config::ConfigError;

use super::Finding;

/// Why `import-envoy` produced no policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file is neither JSON nor YAML.
    #[error("not JSON or YAML: {0}")]
    Syntax(String),
    /// No `RouteConfiguration` was found where Envoy keeps one.
    #[error(
        "no RouteConfiguration found (looked for a RouteConfiguration, an HCM `route_config` in a \
         bootstrap, listener or LDS file, and the RoutesConfigDump/ListenersConfigDump of /config_dump)"
    )]
    NoRouteConfiguration,
    /// Several route configurations were found and none was chosen.
    #[error("{} route configurations found ({}); choose one with --route-config NAME", .names.len(), .names.join(", "))]
    SeveralRouteConfigurations {
        /// Their names (`<unnamed>` for those without one), in document order.
        names: Vec<String>,
    },
    /// `--route-config NAME` named none of them.
    #[error("no route configuration named {name:?} (found: {})", .found.join(", "))]
    RouteConfigurationNotFound {
        /// The name asked for.
        name: String,
        /// The names found.
        found: Vec<String>,
    },
    /// A field has a shape Envoy's API does not allow.
    #[error("{path}: {message}")]
    Malformed {
        /// JSON path in the input.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// `--strict` and some constructs cannot be translated faithfully.
    #[error("{} construct(s) cannot be translated faithfully: {}", .0.len(), super::join(.0))]
    Untranslatable(Vec<Finding>),
    /// Nothing could be imported (every virtual host or route was skipped).
    #[error("nothing left to import: every virtual host was skipped ({} finding(s))", .0.len())]
    NothingImported(Vec<Finding>),
    /// The translated policy does not compile, for a reason not tied to one route.
    #[error("the translated policy is not valid: {0}")]
    InvalidPolicy(ConfigError),
}
