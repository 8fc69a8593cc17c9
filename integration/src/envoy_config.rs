//! Renders the Envoy bootstrap used by the tests and the demo.
//!
//! One listener, one virtual host routing everything by `cluster_header` (the header the plugin
//! sets), the trieguard wasm filter before the router, and one STATIC cluster per upstream.
//! The same renderer produces `examples/envoy.yaml`, so what the demo runs is what tests run.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

/// An upstream cluster.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Cluster name (what the plugin writes to `x-trieguard-cluster`).
    pub name: String,
    /// Its single loopback endpoint.
    pub addr: SocketAddr,
}

/// The wasm filter.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// Path of the module (`trieguard.wasm` or a test module).
    pub wasm: PathBuf,
    /// Plugin configuration, delivered as a `StringValue`.
    pub configuration: String,
}

impl ClusterSpec {
    /// One cluster per echo upstream, named after it.
    pub fn for_upstreams(upstreams: &[&crate::EchoUpstream]) -> Vec<ClusterSpec> {
        upstreams
            .iter()
            .map(|u| ClusterSpec {
                name: u.name().to_owned(),
                addr: u.addr(),
            })
            .collect()
    }
}

impl PluginSpec {
    /// `trieguard.wasm` (from `cargo xtask build`) with this policy.
    pub fn trieguard(policy: &str) -> Self {
        Self {
            wasm: crate::paths::plugin_wasm(),
            configuration: policy.to_owned(),
        }
    }
}

/// A complete Envoy bootstrap.
#[derive(Debug, Clone)]
pub struct EnvoyConfig {
    /// Listener port on 127.0.0.1 (0: Envoy picks one; read it back from the admin API).
    pub listener_port: u16,
    /// Admin port on 127.0.0.1 (0: Envoy picks one and writes it to the admin address file).
    pub admin_port: u16,
    /// The header whose value names the upstream cluster.
    pub cluster_header: String,
    /// Upstream clusters.
    pub clusters: Vec<ClusterSpec>,
    /// The wasm filter, if any (without it Envoy routes on whatever the client sent).
    pub plugin: Option<PluginSpec>,
    /// Terminate TLS on the listener with this certificate.
    pub tls: Option<TlsSpec>,
    /// The HCM's `forward_client_cert_details` (Envoy's default, `SANITIZE`, strips a client's
    /// XFCC before any filter runs; a front proxy's XFCC needs `ALWAYS_FORWARD_ONLY`).
    pub forward_client_cert_details: Option<String>,
    /// The singleton service VM (`envoy.bootstrap.wasm`) with this plugin configuration
    /// (`{"fetch_policy": ...}`), loading the same module as the filter with the same `vm_id`
    /// (shared data is scoped by `vm_id`).
    pub policy_service: Option<String>,
    /// Replaces the virtual host's `routes:` (benchmarks compare Envoy's own route tables):
    /// YAML starting at the `routes:` or `matcher:` key, indented by 14 spaces.
    pub virtual_host_body: Option<String>,
    /// Envoy worker threads (`--concurrency`); 1 unless a benchmark asks for more.
    pub workers: u32,
    /// More HTTP filters, before the router (after trieguard's): YAML list items indented by
    /// 10 spaces (benchmarks compare Envoy's own filters, e.g. `api_key_auth`).
    pub extra_http_filters: Option<String>,
}

/// Downstream TLS for the listener.
#[derive(Debug, Clone)]
pub struct TlsSpec {
    /// PEM certificate chain file.
    pub cert_chain: PathBuf,
    /// PEM private key file.
    pub private_key: PathBuf,
}

impl EnvoyConfig {
    /// A config on ephemeral ports routing by `x-trieguard-cluster`.
    pub fn new(clusters: Vec<ClusterSpec>, plugin: Option<PluginSpec>) -> Self {
        Self {
            listener_port: 0,
            admin_port: 0,
            cluster_header: "x-trieguard-cluster".to_owned(),
            clusters,
            plugin,
            tls: None,
            forward_client_cert_details: None,
            policy_service: None,
            virtual_host_body: None,
            workers: 1,
            extra_http_filters: None,
        }
    }

    /// The bootstrap as YAML, listener included.
    pub fn render(&self) -> String {
        format!(
            "{}static_resources:\n  listeners:\n{}\n  clusters:{}\n",
            self.preamble(),
            self.listener(),
            self.clusters_yaml()
        )
    }

    /// The bootstrap with the listener served by file-based LDS from `lds_path` (write it with
    /// [`EnvoyConfig::render_lds`]; replacing that file pushes a new listener and policy).
    pub fn render_with_lds(&self, lds_path: &std::path::Path) -> String {
        format!(
            "{}node: {{ id: trieguard, cluster: trieguard }}\ndynamic_resources:\n  lds_config:\n    resource_api_version: V3\n    path_config_source:\n      path: {}\nstatic_resources:\n  clusters:{}\n",
            self.preamble(),
            yaml_string(&lds_path.to_string_lossy()),
            self.clusters_yaml()
        )
    }

    /// The LDS resource file holding this config's listener (and so its plugin policy).
    pub fn render_lds(&self) -> String {
        let listener = self.listener();
        let body = listener
            .lines()
            .map(|line| line.strip_prefix("  ").unwrap_or(line))
            .map(|line| {
                line.strip_prefix("- name: trieguard_ingress")
                    .map(|_| "- \"@type\": type.googleapis.com/envoy.config.listener.v3.Listener\n  name: trieguard_ingress".to_owned())
                    .unwrap_or_else(|| line.to_owned())
            })
            .collect::<Vec<_>>()
            .join("\n");
        format!("resources:\n{body}\n")
    }

    fn preamble(&self) -> String {
        let mut preamble = self.stats_and_admin();
        if let (Some(service), Some(plugin)) = (&self.policy_service, &self.plugin) {
            let _ = write!(
                preamble,
                r#"bootstrap_extensions:
- name: envoy.bootstrap.wasm
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.wasm.v3.WasmService
    singleton: true
    config:
{config}
"#,
                config = indent(
                    &wasm_plugin_yaml("trieguard_policy_service", None, &plugin.wasm, service),
                    6
                ),
            );
        }
        preamble
    }

    fn stats_and_admin(&self) -> String {
        format!(
            r#"# Rendered by integration::EnvoyConfig (see integration/src/envoy_config.rs).
# trieguard counts decisions as wasmcustom.trieguard.route.<id>.reason.<reason>.requests;
# these tags turn the name parts into Prometheus labels (docs/metrics.md).
stats_config:
  stats_tags:
  - tag_name: trieguard_route
    regex: '^wasmcustom\.trieguard\.(route\.([^.]+)\.)'
  - tag_name: trieguard_reason
    regex: '\.(reason\.([^.]+)\.)requests$'
admin:
  address:
    socket_address: {{ address: 127.0.0.1, port_value: {admin} }}
"#,
            admin = self.admin_port
        )
    }

    /// The listener, as an item of `static_resources.listeners` (indented by 2).
    fn listener(&self) -> String {
        let mut y = String::new();
        let _ = write!(
            y,
            r#"  - name: trieguard_ingress
    address:
      socket_address: {{ address: 127.0.0.1, port_value: {listener} }}
    filter_chains:
    - {transport_socket}filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress{xfcc}
          route_config:
            name: trieguard_routes
            virtual_hosts:
            - name: everything
              domains: ["*"]
{virtual_host_body}
          http_filters:"#,
            transport_socket = self.transport_socket(),
            xfcc = self
                .forward_client_cert_details
                .as_ref()
                .map(|mode| format!("\n          forward_client_cert_details: {mode}"))
                .unwrap_or_default(),
            listener = self.listener_port,
            virtual_host_body = self.virtual_host_body.clone().unwrap_or_else(|| format!(
                "              routes:\n              # trieguard decides the cluster; Envoy only forwards to it.\n              - match: {{ prefix: \"/\" }}\n                route: {{ cluster_header: {} }}",
                self.cluster_header
            )),
        );
        if let Some(plugin) = &self.plugin {
            let _ = write!(
                y,
                r#"
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
{config}"#,
                config = indent(
                    &wasm_plugin_yaml(
                        "trieguard",
                        Some("FAIL_CLOSED"),
                        &plugin.wasm,
                        &plugin.configuration
                    ),
                    16
                ),
            );
        }
        if let Some(filters) = &self.extra_http_filters {
            y.push('\n');
            y.push_str(filters.trim_end());
        }
        y.push_str(
            r#"
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"#,
        );
        y
    }

    fn clusters_yaml(&self) -> String {
        let mut y = String::new();
        for cluster in &self.clusters {
            let _ = write!(
                y,
                r#"
  - name: {name}
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: {name}
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{ address: {ip}, port_value: {port} }}"#,
                name = cluster.name,
                ip = cluster.addr.ip(),
                port = cluster.addr.port(),
            );
        }
        y
    }
}

impl EnvoyConfig {
    /// The listener's `transport_socket` (TLS 1.2 and 1.3 accepted; the plugin enforces
    /// per-host minimums), followed by the indentation of the next key; empty for plaintext.
    fn transport_socket(&self) -> String {
        let Some(tls) = &self.tls else {
            return String::new();
        };
        format!(
            r#"transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            tls_params: {{ tls_minimum_protocol_version: TLSv1_2, tls_maximum_protocol_version: TLSv1_3 }}
            tls_certificates:
            - certificate_chain: {{ filename: {cert} }}
              private_key: {{ filename: {key} }}
      "#,
            cert = yaml_string(&tls.cert_chain.to_string_lossy()),
            key = yaml_string(&tls.private_key.to_string_lossy()),
        )
    }
}

/// A wasm `PluginConfig` (the filter's and the bootstrap service's `config:`), unindented:
/// both load `wasm` into the VM `trieguard` (shared data is scoped by `vm_id`) with the
/// plugin configuration as a `StringValue`.
fn wasm_plugin_yaml(
    name: &str,
    failure_policy: Option<&str>,
    wasm: &std::path::Path,
    configuration: &str,
) -> String {
    format!(
        r#"name: {name}
root_id: trieguard{failure_policy}
vm_config:
  vm_id: trieguard
  runtime: envoy.wasm.runtime.v8
  code:
    local:
      filename: {wasm}
configuration:
  "@type": type.googleapis.com/google.protobuf.StringValue
  value: |
{configuration}"#,
        failure_policy = failure_policy
            .map(|policy| format!("\nfailure_policy: {policy}"))
            .unwrap_or_default(),
        wasm = yaml_string(&wasm.to_string_lossy()),
        configuration = indent(configuration, 4),
    )
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn yaml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Indents every line (for a YAML block scalar); empty lines stay empty.
fn indent(text: &str, spaces: usize) -> String {
    let pad = " ".repeat(spaces);
    text.trim_end()
        .lines()
        .map(|line| {
            if line.trim().is_empty() {
                String::new()
            } else {
                format!("{pad}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_clusters_and_plugin_configuration() {
        let config = EnvoyConfig::new(
            vec![ClusterSpec {
                name: "orders".into(),
                addr: "127.0.0.1:8081".parse().unwrap(),
            }],
            Some(PluginSpec {
                wasm: "/x/trieguard.wasm".into(),
                configuration: "{\n  \"hosts\": []\n}\n".into(),
            }),
        );
        let yaml = config.render();
        assert!(yaml.contains("cluster_header: x-trieguard-cluster"));
        assert!(yaml.contains("filename: \"/x/trieguard.wasm\""));
        assert!(yaml.contains(
            "                    {\n                      \"hosts\": []\n                    }"
        ));
        assert!(yaml.contains("socket_address: { address: 127.0.0.1, port_value: 8081 }"));
    }

    #[test]
    fn the_policy_service_loads_the_filters_module_into_the_same_vm() {
        let mut config = EnvoyConfig::new(
            vec![],
            Some(PluginSpec {
                wasm: "/x/trieguard.wasm".into(),
                configuration: "{\"policy_source\": {\"name\": \"main\"}}".into(),
            }),
        );
        config.policy_service = Some("{\"fetch_policy\": {}}".into());
        let yaml = config.render();
        assert!(yaml.contains(
            "    singleton: true\n    config:\n      name: trieguard_policy_service\n      root_id: trieguard\n      vm_config:\n        vm_id: trieguard\n"
        ));
        assert!(yaml.contains("        value: |\n          {\"fetch_policy\": {}}\n"));
        assert_eq!(yaml.matches("vm_id: trieguard").count(), 2);
        assert_eq!(yaml.matches("failure_policy: FAIL_CLOSED").count(), 1);
    }
}
