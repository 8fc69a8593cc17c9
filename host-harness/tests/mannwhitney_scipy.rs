//! `stats::mann_whitney` against SciPy's `mannwhitneyu` (vectors from `tests/data/mannwhitney_scipy.py`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use host_harness::stats::mann_whitney;

fn close(ours: f64, theirs: f64, what: &str, name: &str) {
    let tol = 1e-6 * theirs.abs().max(1e-300) + 1e-12;
    assert!(
        (ours - theirs).abs() <= tol,
        "{name}: {what} {ours} vs SciPy {theirs}"
    );
}

#[test]
fn matches_scipy_mannwhitneyu() {
    let text = include_str!("data/mannwhitney_scipy.json");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let nums = |k: &str| {
            c[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect::<Vec<f64>>()
        };
        let m = mann_whitney(&nums("a"), &nums("b")).unwrap();
        close(m.u, c["u"].as_f64().unwrap(), "U", name);
        close(m.p_value, c["p_value"].as_f64().unwrap(), "p", name);
        close(
            m.rank_biserial,
            c["rank_biserial"].as_f64().unwrap(),
            "rank-biserial",
            name,
        );
        close(
            m.median_shift,
            c["median_shift"].as_f64().unwrap(),
            "median shift",
            name,
        );
    }
}
