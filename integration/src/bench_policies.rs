//! Large generated route sets for the push benchmark, in trieguard's policy form and in
//! Envoy's own two forms (a route list and a `prefix_match_map` matcher tree).
//!
//! Route `i` matches the path-separated prefix `/tenant-<i>/api` and sends the request to one
//! cluster; two sets that differ only in that cluster tell which one answered a request.
//! API keys are `key-<j>` for consumer `c<j>`, stored as SHA-256 digests as the engine wants.

use std::fmt::Write as _;

use crate::sha256_hex;

/// A request path that matches the last route of an `routes`-route set (the worst case for
/// Envoy's linear route list).
pub fn last_route_path(routes: usize) -> String {
    format!("/tenant-{}/api/orders/42", routes.saturating_sub(1))
}

/// The API key the benchmark client sends when there are `keys` keys (`None` without keys).
pub fn client_key(keys: usize) -> Option<String> {
    keys.checked_sub(1).map(|last| format!("key-{last}"))
}

/// A trieguard policy: `routes` routes to `cluster`, all requiring one of `keys` API keys
/// (no authentication when `keys` is 0). Compact JSON.
pub fn trieguard_policy(routes: usize, keys: usize, cluster: &str) -> String {
    let mut json = String::with_capacity(routes * 130 + keys * 100 + 128);
    json.push_str(r#"{"hosts":[{"domains":["*"],"routes":["#);
    let auth = if keys > 0 {
        r#","auth":{"any_of":["keys"]}"#
    } else {
        ""
    };
    for i in 0..routes {
        if i > 0 {
            json.push(',');
        }
        let _ = write!(
            json,
            r#"{{"id":"r{i}","match":{{"path_separated_prefix":"/tenant-{i}/api"}},"upstream":{{"cluster":"{cluster}"}}{auth}}}"#
        );
    }
    json.push_str("]}]");
    if keys > 0 {
        json.push_str(r#","auth_providers":{"keys":{"api_key":{"keys":["#);
        for j in 0..keys {
            if j > 0 {
                json.push(',');
            }
            let _ = write!(
                json,
                r#"{{"consumer":"c{j}","sha256":"{}"}}"#,
                sha256_hex(&format!("key-{j}"))
            );
        }
        json.push_str("]}}}");
    }
    json.push('}');
    json
}

/// Envoy's own route list (`EnvoyConfig::virtual_host_body`): `routes` prefix routes to
/// `cluster`, matched in order.
pub fn envoy_route_list(routes: usize, cluster: &str) -> String {
    let mut yaml = String::from("              routes:\n");
    for i in 0..routes {
        let _ = writeln!(
            yaml,
            "              - match: {{ prefix: \"/tenant-{i}/api\" }}\n                route: {{ cluster: {cluster} }}"
        );
    }
    yaml
}

/// Envoy's `prefix_match_map` on `:path` (`EnvoyConfig::virtual_host_body`): `routes`
/// prefixes, each to `cluster`.
pub fn envoy_prefix_match_map(routes: usize, cluster: &str) -> String {
    let mut yaml = String::from(
        "              matcher:\n                matcher_tree:\n                  input:\n                    name: request-headers\n                    typed_config:\n                      \"@type\": type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput\n                      header_name: \":path\"\n                  prefix_match_map:\n                    map:\n",
    );
    for i in 0..routes {
        let _ = writeln!(
            yaml,
            "                      \"/tenant-{i}/api\":\n                        action:\n                          name: route\n                          typed_config:\n                            \"@type\": type.googleapis.com/envoy.config.route.v3.Route\n                            match: {{ prefix: \"/\" }}\n                            route: {{ cluster: {cluster} }}"
        );
    }
    yaml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_policy_compiles_and_routes_the_last_path_with_the_last_key() {
        let policy = trieguard_policy(20, 5, "new");
        let value: serde_json::Value = serde_json::from_str(&policy).unwrap();
        assert_eq!(value["hosts"][0]["routes"].as_array().unwrap().len(), 20);
        assert_eq!(
            value["auth_providers"]["keys"]["api_key"]["keys"][4]["sha256"],
            sha256_hex("key-4")
        );
        trieguard::engine::Engine::from_json(policy.as_bytes()).unwrap();
        trieguard::engine::Engine::from_json(trieguard_policy(3, 0, "old").as_bytes()).unwrap();
        assert_eq!(last_route_path(20), "/tenant-19/api/orders/42");
        assert_eq!(client_key(5).as_deref(), Some("key-4"));
        assert_eq!(client_key(0), None);
    }

    #[test]
    fn envoy_forms_hold_every_route() {
        let list = envoy_route_list(3, "old");
        assert_eq!(list.matches("route: { cluster: old }").count(), 3);
        assert!(list.contains("prefix: \"/tenant-2/api\""));
        let map = envoy_prefix_match_map(3, "new");
        assert_eq!(map.matches("route: { cluster: new }").count(), 3);
        assert!(map.contains("\"/tenant-0/api\":"));
    }
}
