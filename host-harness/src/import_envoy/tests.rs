//! One test per construct: translated, noted, or listed as a finding with its path.

use super::*;

fn route_config(routes: &str) -> String {
    format!(
        r#"{{"name": "rc", "ignore_port_in_host_matching": true, "virtual_hosts": [
            {{"name": "vh", "domains": ["api.example.com"], "routes": [{routes}]}}]}}"#
    )
}

fn import_ok(text: &str) -> Import {
    import(text, &Options::default()).unwrap()
}

fn routes(import: &Import) -> &Vec<Value> {
    import.policy["hosts"][0]["routes"].as_array().unwrap()
}

fn skipped_paths(import: &Import) -> Vec<&str> {
    import.skipped.iter().map(|f| f.path.as_str()).collect()
}

#[test]
fn prefix_path_and_separated_prefix_become_the_same_matches_in_first_match_order() {
    let i = import_ok(&route_config(
        r#"{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "a"}},
           {"name": "exact", "match": {"path": "/x"}, "route": {"cluster": "b"}},
           {"name": "sep", "match": {"path_separated_prefix": "/y"}, "route": {"cluster": "c", "prefix_rewrite": "/z"}}"#,
    ));
    assert_eq!(i.policy["precedence"], "first_match");
    let r = routes(&i);
    assert_eq!(r[0]["match"], json!({"prefix": "/"}));
    assert_eq!(r[1]["match"], json!({"exact": "/x"}));
    assert_eq!(r[2]["match"], json!({"path_separated_prefix": "/y"}));
    assert_eq!(r[2]["rewrite"], json!({"prefix": "/z"}));
    assert_eq!(r[2]["upstream"], json!({"cluster": "c"}));
    assert!(i.skipped.is_empty(), "{:?}", i.skipped);
}

#[test]
fn regex_runtime_fraction_and_query_parameters_are_listed_and_the_route_skipped() {
    let i = import_ok(&route_config(
        r#"{"name": "re", "match": {"safe_regex": {"regex": "/a.*"}}, "route": {"cluster": "a"}},
           {"name": "rt", "match": {"prefix": "/b", "runtime_fraction": {}}, "route": {"cluster": "a"}},
           {"name": "q", "match": {"prefix": "/c", "query_parameters": [{"name": "x"}]}, "route": {"cluster": "a"}},
           {"name": "ok", "match": {"prefix": "/d"}, "route": {"cluster": "a"}}"#,
    ));
    let vh = "virtual_hosts[0].routes";
    assert_eq!(
        skipped_paths(&i),
        [
            format!("{vh}[0].match.safe_regex"),
            format!("{vh}[1].match.runtime_fraction"),
            format!("{vh}[2].match.query_parameters"),
        ]
    );
    assert_eq!(routes(&i).len(), 1);
    assert_eq!(routes(&i)[0]["id"], "ok");
}

#[test]
fn strict_fails_listing_every_construct() {
    let text = route_config(
        r#"{"name": "re", "match": {"safe_regex": {"regex": "/a.*"}}, "route": {"cluster": "a"}},
           {"name": "d", "match": {"prefix": "/"}, "direct_response": {"status": 200}}"#,
    );
    let options = Options {
        strict: true,
        ..Options::default()
    };
    match import(&text, &options) {
        Err(ImportError::Untranslatable(found)) => {
            let paths: Vec<_> = found.iter().map(|f| f.path.as_str()).collect();
            assert_eq!(
                paths,
                [
                    "virtual_hosts[0].routes[0].match.safe_regex",
                    "virtual_hosts[0].routes[1].direct_response"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn case_insensitive_matches_with_letters_become_case_sensitive_false() {
    let i = import_ok(&route_config(
        r#"{"name": "digits", "match": {"prefix": "/1", "case_sensitive": false}, "route": {"cluster": "a"}},
           {"name": "letters", "match": {"prefix": "/Ab", "case_sensitive": false}, "route": {"cluster": "a"}},
           {"name": "sensitive", "match": {"prefix": "/Ab", "case_sensitive": true}, "route": {"cluster": "a"}},
           {"name": "exact", "match": {"path": "/X/y", "case_sensitive": false}, "route": {"cluster": "a"}},
           {"name": "sep", "match": {"path_separated_prefix": "/Docs", "case_sensitive": false}, "route": {"cluster": "a", "prefix_rewrite": "/d"}}"#,
    ));
    assert!(i.skipped.is_empty(), "{:?}", i.skipped);
    let matches: Vec<_> = routes(&i).iter().map(|r| r["match"].clone()).collect();
    assert_eq!(
        matches,
        [
            json!({"prefix": "/1"}),
            json!({"prefix": "/Ab", "case_sensitive": false}),
            json!({"prefix": "/Ab"}),
            json!({"exact": "/X/y", "case_sensitive": false}),
            json!({"path_separated_prefix": "/Docs", "case_sensitive": false}),
        ]
    );
    assert_eq!(routes(&i)[4]["rewrite"], json!({"prefix": "/d"}));
}

#[test]
fn a_case_insensitive_route_equal_but_for_case_to_an_earlier_one_is_dropped_as_unreachable() {
    let i = import_ok(&route_config(
        r#"{"name": "first", "match": {"prefix": "/Ab", "case_sensitive": false}, "route": {"cluster": "a"}},
           {"name": "twin", "match": {"prefix": "/aB", "case_sensitive": false}, "route": {"cluster": "b"}},
           {"name": "narrower", "match": {"prefix": "/ab"}, "route": {"cluster": "c"}}"#,
    ));
    let ids: Vec<_> = routes(&i).iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [json!("first"), json!("narrower")]);
    assert!(
        i.notes.iter().any(|n| n.path.ends_with("routes[1]")),
        "{:?}",
        i.notes
    );
}

#[test]
fn case_sensitive_false_on_a_uri_template_is_ignored_as_envoy_does() {
    let i = import_ok(&route_config(
        r#"{"name": "t", "match": {"case_sensitive": false, "path_match_policy": {"name": "envoy.path.match.uri_template.uri_template_matcher", "typed_config": {
              "@type": "type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig",
              "path_template": "/Users/{id}"}}}, "route": {"cluster": "a"}}"#,
    ));
    assert!(i.skipped.is_empty(), "{:?}", i.skipped);
    assert_eq!(routes(&i)[0]["match"], json!({"template": "/Users/{id}"}));
    assert!(
        i.notes
            .iter()
            .any(|n| n.path.ends_with("match.case_sensitive")),
        "{:?}",
        i.notes
    );
}

#[test]
fn header_matchers_exact_prefix_present_absent_and_method() {
    let i = import_ok(&route_config(
        r#"{"name": "h", "match": {"prefix": "/", "headers": [
              {"name": "X-A", "exact_match": "1"},
              {"name": "x-b", "string_match": {"prefix": "v"}},
              {"name": "x-c", "present_match": true},
              {"name": "x-d", "present_match": true, "invert_match": true},
              {"name": "x-e"},
              {"name": ":method", "string_match": {"exact": "POST"}}]},
            "route": {"cluster": "a"}}"#,
    ));
    let m = &routes(&i)[0]["match"];
    assert_eq!(m["methods"], json!(["POST"]));
    assert_eq!(
        m["headers"],
        json!([
            {"name": "x-a", "exact": "1"},
            {"name": "x-b", "prefix": "v"},
            {"name": "x-c", "present": true},
            {"name": "x-d", "absent": true},
            {"name": "x-e", "present": true}
        ])
    );
}

#[test]
fn regex_case_insensitive_values_and_other_pseudo_headers_are_listed() {
    let i = import_ok(&route_config(
        r#"{"name": "a", "match": {"prefix": "/a", "headers": [{"name": "x", "exact_match": "1", "invert_match": true}]}, "route": {"cluster": "a"}},
           {"name": "b", "match": {"prefix": "/b", "headers": [{"name": "x", "suffix_match": "1"}]}, "route": {"cluster": "a"}},
           {"name": "c", "match": {"prefix": "/c", "headers": [{"name": "x", "string_match": {"safe_regex": {"regex": "1"}}}]}, "route": {"cluster": "a"}},
           {"name": "d", "match": {"prefix": "/d", "headers": [{"name": ":authority", "exact_match": "x"}]}, "route": {"cluster": "a"}},
           {"name": "e", "match": {"prefix": "/e", "headers": [{"name": "x", "string_match": {"exact": "Ab", "ignore_case": true}}]}, "route": {"cluster": "a"}},
           {"name": "ok", "match": {"prefix": "/"}, "route": {"cluster": "a"}}"#,
    ));
    let vh = "virtual_hosts[0].routes";
    assert_eq!(
        skipped_paths(&i),
        [
            format!("{vh}[2].match.headers[0].string_match.safe_regex"),
            format!("{vh}[3].match.headers[0]"),
            format!("{vh}[4].match.headers[0].string_match.ignore_case"),
        ]
    );
    // Inverted values and suffixes are translated.
    let r = routes(&i);
    assert_eq!(
        r[0]["match"]["headers"],
        json!([{"name": "x", "exact": "1", "invert": true}])
    );
    assert_eq!(
        r[1]["match"]["headers"],
        json!([{"name": "x", "suffix": "1"}])
    );
}

#[test]
fn domains_exact_suffix_partial_prefix_and_any_are_kept_ports_and_inner_wildcards_listed() {
    let text = r#"{"virtual_hosts": [
        {"name": "a", "domains": ["API.example.com", "*.example.com", "www.*", "*-X.example.com", "h:8080", "a.*.b"],
         "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "a"}}]},
        {"name": "b", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "b"}}]}]}"#;
    let i = import_ok(text);
    assert_eq!(
        i.policy["hosts"][0]["domains"],
        json!([
            "api.example.com",
            "*.example.com",
            "www.*",
            "*-x.example.com"
        ])
    );
    assert_eq!(i.policy["hosts"][1]["domains"], json!(["*"]));
    assert_eq!(
        skipped_paths(&i),
        ["virtual_hosts[0].domains[4]", "virtual_hosts[0].domains[5]"]
    );
    // Unnamed routes get ids from their virtual host and index; the port note is given.
    assert_eq!(i.policy["hosts"][0]["routes"][0]["id"], "a-0");
    assert!(i.notes.iter().any(|n| n.message.contains("port")));
}

#[test]
fn virtual_host_fields_not_translated_skip_the_virtual_host() {
    let text = r#"{"virtual_hosts": [
        {"name": "a", "domains": ["a"], "require_tls": "ALL", "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "a"}}]},
        {"name": "b", "domains": ["b"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "b"}}]}]}"#;
    let i = import_ok(text);
    assert_eq!(skipped_paths(&i), ["virtual_hosts[0].require_tls"]);
    assert_eq!(i.policy["hosts"].as_array().unwrap().len(), 1);
}

#[test]
fn weighted_clusters_with_hash_policy_become_sticky_splits() {
    let i = import_ok(&route_config(
        r#"{"name": "w", "match": {"prefix": "/w"}, "route": {
              "weighted_clusters": {"use_hash_policy": true, "clusters": [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}]},
              "hash_policy": [{"header": {"header_name": "X-User"}}]}},
           {"name": "c", "match": {"prefix": "/c"}, "route": {
              "weighted_clusters": {"use_hash_policy": true, "clusters": [{"name": "v1", "weight": 1}, {"name": "v2", "weight": 1}]},
              "hash_policy": [{"cookie": {"name": "uid"}}]}},
           {"name": "r", "match": {"prefix": "/r"}, "route": {
              "weighted_clusters": {"total_weight": 100, "clusters": [{"name": "v1", "weight": 50}, {"name": "v2", "weight": 50}]}}},
           {"name": "lb", "match": {"prefix": "/lb"}, "route": {"cluster": "a", "hash_policy": [{"header": {"header_name": "x"}}]}}"#,
    ));
    let r = routes(&i);
    assert_eq!(
        r[0]["upstream"],
        json!({"split": {"key": {"header": "x-user"}, "clusters": [{"cluster": "v1", "weight": 90}, {"cluster": "v2", "weight": 10}]}})
    );
    assert_eq!(r[1]["upstream"]["split"]["key"], json!({"cookie": "uid"}));
    assert!(r[2]["upstream"]["split"].get("key").is_none());
    assert_eq!(
        skipped_paths(&i),
        ["virtual_hosts[0].routes[3].route.hash_policy"]
    );
    assert!(i.notes.iter().any(|n| n.message.contains("FNV-1a")));
}

#[test]
fn routes_envoy_never_reaches_are_dropped_with_a_note() {
    let i = import_ok(&route_config(
        r#"{"name": "first", "match": {"prefix": "/a"}, "route": {"cluster": "a"}},
           {"name": "again", "match": {"prefix": "/a"}, "route": {"cluster": "b"}}"#,
    ));
    assert_eq!(routes(&i).len(), 1);
    assert!(
        i.notes
            .iter()
            .any(|n| n.path == "virtual_hosts[0].routes[1]" && n.message.contains("first"))
    );
}

#[test]
fn route_names_become_unique_valid_ids() {
    let i = import_ok(&route_config(
        r#"{"name": "orders.v1", "match": {"prefix": "/a"}, "route": {"cluster": "a"}},
           {"name": "orders_v1", "match": {"prefix": "/b"}, "route": {"cluster": "a"}}"#,
    ));
    let ids: Vec<_> = routes(&i).iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [json!("orders_v1"), json!("orders_v1-2")]);
}

#[test]
fn paths_normalisation_changes_and_routes_trieguard_refuses_become_findings() {
    // `..` is resolved by trieguard's normaliser, so no request path can equal it; a
    // separated prefix ending in `/` is refused by the policy itself.
    let i = import_ok(&route_config(
        r#"{"name": "dots", "match": {"path": "/a/../b"}, "route": {"cluster": "a"}},
           {"name": "slash", "match": {"path_separated_prefix": "/a/"}, "route": {"cluster": "a"}},
           {"name": "ok", "match": {"prefix": "/"}, "route": {"cluster": "a"}}"#,
    ));
    assert_eq!(routes(&i).len(), 1, "{:?}", i.policy);
    assert_eq!(
        skipped_paths(&i),
        [
            "virtual_hosts[0].routes[0].match.path",
            "virtual_hosts[0].routes[1]"
        ]
    );
    assert!(
        i.skipped[1].message.contains("trieguard refuses"),
        "{:?}",
        i.skipped
    );
}

#[test]
fn yaml_bootstrap_with_an_inline_route_config_in_camel_case() {
    let text = r#"
static_resources:
  listeners:
  - name: main
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          routeConfig:
            name: local
            virtualHosts:
            - name: vh
              domains: ["*"]
              routes:
              - name: r
                match: { pathSeparatedPrefix: /api }
                route: { cluster: api }
"#;
    let i = import_ok(text);
    assert!(
        i.source
            .starts_with("local at static_resources.listeners[0]"),
        "{}",
        i.source
    );
    assert_eq!(
        routes(&i)[0]["match"],
        json!({"path_separated_prefix": "/api"})
    );
}

#[test]
fn config_dump_with_several_route_configs_needs_a_choice() {
    let text = r#"{"configs": [
      {"@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
       "static_route_configs": [{"route_config": {"name": "one", "virtual_hosts": [
          {"name": "a", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "a"}}]}]}}],
       "dynamic_route_configs": [{"route_config": {"name": "two", "virtual_hosts": [
          {"name": "b", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "b"}}]}]}}]}]}"#;
    assert!(matches!(
        import(text, &Options::default()),
        Err(ImportError::SeveralRouteConfigurations { names }) if names == ["one", "two"]
    ));
    let two = Options {
        route_config: Some("two".into()),
        ..Options::default()
    };
    let i = import(text, &two).unwrap();
    assert_eq!(
        i.policy["hosts"][0]["routes"][0]["upstream"]["cluster"],
        "b"
    );
    assert!(matches!(
        import(r#"{"foo": 1}"#, &Options::default()),
        Err(ImportError::NoRouteConfiguration)
    ));
}

#[test]
fn uri_templates_of_whole_segment_variables_become_templates_and_the_rest_are_findings() {
    let template = |t: &str| {
        format!(
            r#"{{"name": "t", "match": {{"path_match_policy": {{
                "name": "envoy.path.match.uri_template.uri_template_matcher",
                "typed_config": {{
                    "@type": "type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig",
                    "path_template": "{t}"}}}}}}, "route": {{"cluster": "a"}}}}"#
        )
    };
    let i = import_ok(&route_config(&format!(
        "{}, {}",
        template("/users/{id}/orders/*"),
        template("/files/{name=*}")
    )));
    let r = routes(&i);
    assert_eq!(
        r[0]["match"],
        json!({"template": "/users/{id}/orders/{_1}"})
    );
    assert_eq!(r[1]["match"], json!({"template": "/files/{name}"}));
    assert!(i.skipped.is_empty(), "{:?}", i.skipped);

    for refused in ["/static/**", "/v/{rest=**}", "/a/{id}.json", "/a/{x=b/*}"] {
        let i = import_ok(&route_config(&format!(
            "{}, {}",
            template("/ok/{id}"),
            template(refused)
        )));
        assert_eq!(routes(&i).len(), 1, "{refused} was translated");
        assert_eq!(
            skipped_paths(&i),
            vec!["virtual_hosts[0].routes[1].match.path_match_policy.typed_config.path_template"],
            "{refused}"
        );
    }
}
