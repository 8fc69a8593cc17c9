//! Reading the input file and finding the `RouteConfiguration`s in it.
//!
//! Accepted shapes, recognised by their fields:
//! - a `RouteConfiguration` itself (`virtual_hosts`);
//! - a bootstrap (`static_resources.listeners`), a `Listener`, or an LDS/RDS discovery file
//!   (`resources`), whose HTTP connection managers hold one inline in `route_config`;
//! - `/config_dump` output (`configs`: `RoutesConfigDump` and `ListenersConfigDump`).
//!
//! Protobuf JSON allows `lowerCamelCase` field names; keys are turned to `snake_case` first.

use serde_json::{Map, Value};

use super::ImportError;

/// One route configuration found, with where it is in the input.
#[derive(Debug, Clone)]
pub struct Located<'a> {
    /// JSON path of the configuration in the input (empty when it is the whole document).
    pub path: String,
    /// The configuration.
    pub config: &'a Map<String, Value>,
}

impl Located<'_> {
    /// The configuration's `name`, or `<unnamed>`.
    pub fn name(&self) -> String {
        self.config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>")
            .to_owned()
    }
}

/// Parses JSON or YAML into a value with `snake_case` keys.
pub fn parse(text: &str) -> Result<Value, ImportError> {
    let value = match serde_json::from_str::<Value>(text) {
        Ok(value) => value,
        Err(json) => serde_norway::from_str::<Value>(text)
            .map_err(|yaml| ImportError::Syntax(format!("as JSON: {json}; as YAML: {yaml}")))?,
    };
    Ok(snake_keys(value))
}

fn snake_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (to_snake(&k), snake_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(snake_keys).collect()),
        other => other,
    }
}

/// `virtualHosts` → `virtual_hosts`; `@type` and snake names unchanged.
fn to_snake(key: &str) -> String {
    if !key.bytes().any(|b| b.is_ascii_uppercase()) || key.starts_with('@') {
        return key.to_owned();
    }
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every route configuration in the document, in document order.
pub fn route_configurations(doc: &Value) -> Vec<Located<'_>> {
    let mut found = Vec::new();
    visit(doc, String::new(), &mut found);
    found
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// Looks for route configurations under the fields Envoy puts them in.
fn visit<'a>(value: &'a Value, path: String, found: &mut Vec<Located<'a>>) {
    let Some(map) = value.as_object() else {
        if let Some(items) = value.as_array() {
            for (i, item) in items.iter().enumerate() {
                visit(item, format!("{path}[{i}]"), found);
            }
        }
        return;
    };
    if map.contains_key("virtual_hosts") {
        found.push(Located { path, config: map });
        return;
    }
    // Where a RouteConfiguration or a Listener can sit: bootstrap, listener, HCM, discovery
    // responses, config dumps.
    const CONTAINERS: &[&str] = &[
        "static_resources",
        "listeners",
        "filter_chains",
        "default_filter_chain",
        "filters",
        "typed_config",
        "route_config",
        "resources",
        "resource",
        "configs",
        "static_route_configs",
        "dynamic_route_configs",
        "static_listeners",
        "dynamic_listeners",
        "active_state",
        "listener",
    ];
    for field in CONTAINERS {
        if let Some(inner) = map.get(*field) {
            visit(inner, join(&path, field), found);
        }
    }
}
