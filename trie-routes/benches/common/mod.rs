//! Route sets and key sets shared by the benchmarks.

#![allow(dead_code)]

use trie_routes::{PathMatch, RouteSpec};

/// The GitHub REST API paths (data), `{name}` parameters.
pub fn github_routes() -> Vec<String> {
    include_str!("github_routes.txt")
        .lines()
        .filter(|l| l.starts_with('/'))
        .map(str::to_owned)
        .collect()
}

/// A concrete request path for a template: every parameter becomes `42`.
pub fn fill(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        out.push_str("42");
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

const SERVICES: [&str; 10] = [
    "orders", "users", "billing", "catalog", "search", "cart", "reviews", "shipping", "auth",
    "media",
];

/// `n` distinct static routes in a tenant layout: `/tenants/t00042/orders/v3/items`.
pub fn static_routes(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "/tenants/t{:07}/{}/v{}/items",
                i / 40,
                SERVICES[i % 10],
                (i / 10) % 4 + 1
            )
        })
        .collect()
}

/// `n` distinct templated routes: `/tenants/t00042/orders/v3/{id}/items/{item}`.
pub fn templated_routes(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "/tenants/t{:07}/{}/v{}/{{id}}/items/{{item}}",
                i / 40,
                SERVICES[i % 10],
                (i / 10) % 4 + 1
            )
        })
        .collect()
}

/// Route specs for a trie: static strings as `Exact`, anything with `{` as `Template`.
pub fn specs(routes: &[String]) -> Vec<RouteSpec<usize>> {
    routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let m = if r.contains('{') {
                PathMatch::Template(r.clone())
            } else {
                PathMatch::Exact(r.clone())
            };
            RouteSpec::new("*", m, i)
        })
        .collect()
}

/// A small deterministic generator (64-bit LCG, high bits), so every run samples the same.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 ^ (self.0 >> 29)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// `count` route indices spread over `0..n`, deterministic.
pub fn sample(n: usize, count: usize) -> Vec<usize> {
    let mut rng = Lcg(0x5eed ^ n as u64);
    (0..count).map(|_| rng.below(n)).collect()
}

/// The baseline "what Envoy does": try routes in order, first match wins.
pub struct LinearRoutes {
    routes: Vec<Vec<Seg>>,
}

enum Seg {
    Lit(String),
    Param,
}

impl LinearRoutes {
    pub fn new(routes: &[String]) -> Self {
        let routes = routes
            .iter()
            .map(|r| {
                r.split('/')
                    .map(|s| {
                        if s.starts_with('{') {
                            Seg::Param
                        } else {
                            Seg::Lit(s.to_owned())
                        }
                    })
                    .collect()
            })
            .collect();
        Self { routes }
    }

    pub fn find(&self, path: &str) -> Option<usize> {
        self.routes.iter().position(|segs| {
            let mut parts = path.split('/');
            segs.iter().all(|s| match (s, parts.next()) {
                (Seg::Lit(l), Some(p)) => l == p,
                (Seg::Param, Some(p)) => !p.is_empty(),
                (_, None) => false,
            }) && parts.next().is_none()
        })
    }
}
