//! Latency statistics: percentiles and the Mann–Whitney U test.
//!
//! The test follows SciPy's `mannwhitneyu(a, b, alternative="two-sided", use_continuity=True,
//! method="auto")`, and `tests/mannwhitney_scipy.rs` checks it against vectors SciPy computed:
//!
//! - `U` is the statistic of sample A: `R_A − n_A(n_A+1)/2` with average ranks for ties.
//! - Exact distribution when there are no ties and a sample has at most 8 values (SciPy's
//!   `auto` rule); otherwise the normal approximation with tie correction
//!   `σ² = n_A n_B / 12 · ((n+1) − Σ(t³−t) / (n(n−1)))` and a continuity correction of ½.
//! - Two-sided p-value: twice the upper tail of `max(U_A, U_B)`, capped at 1.
//! - Rank-biserial correlation `r = 2 U_A / (n_A n_B) − 1`: +1 when every A value is larger
//!   (A slower), −1 when every A value is smaller.

use serde::Serialize;

/// Largest `n_A · n_B` for which the exact distribution is computed (cost ∝ n · min(n_A,n_B) · n_A n_B).
const MAX_EXACT_PRODUCT: usize = 20_000;
/// SciPy's `auto` rule: exact only when a sample has at most this many values (and no ties).
const EXACT_MAX_SMALLER: usize = 8;

/// Nearest-rank percentile (`q` in 0..=100) of sorted values; `None` when empty.
pub fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Median of a sample (mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return None;
    }
    let mid = v.get(n / 2).copied()?;
    if n % 2 == 1 {
        Some(mid)
    } else {
        Some((v.get(n / 2 - 1).copied()? + mid) / 2.0)
    }
}

/// How the p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Exact null distribution of U.
    Exact,
    /// Normal approximation with tie and continuity corrections.
    Asymptotic,
}

/// Result of a two-sided Mann–Whitney U test of A against B.
#[derive(Debug, Clone, Serialize)]
pub struct MannWhitney {
    /// Size of A.
    pub n_a: usize,
    /// Size of B.
    pub n_b: usize,
    /// U statistic of A.
    pub u: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Rank-biserial correlation (effect size), in −1..=1.
    pub rank_biserial: f64,
    /// `median(B) − median(A)`.
    pub median_shift: f64,
    /// How the p-value was computed.
    pub method: Method,
}

/// Average ranks (1-based) of `values`, and the tie term Σ(t³ − t).
fn ranks(values: &[f64]) -> (Vec<f64>, f64) {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| {
        values
            .get(a)
            .unwrap_or(&0.0)
            .total_cmp(values.get(b).unwrap_or(&0.0))
    });
    let mut out = vec![0.0; values.len()];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let vi = idx
            .get(i)
            .and_then(|&k| values.get(k))
            .copied()
            .unwrap_or(0.0);
        let mut j = i + 1;
        while j < idx.len() && idx.get(j).and_then(|&k| values.get(k)).copied() == Some(vi) {
            j += 1;
        }
        let avg = (i + 1 + j) as f64 / 2.0;
        for k in i..j {
            if let Some(slot) = idx.get(k).and_then(|&p| out.get_mut(p)) {
                *slot = avg;
            }
        }
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    (out, tie_term)
}

/// Number of ways each U value arises under the null (no ties), as probabilities.
fn exact_pmf(m: usize, n: usize) -> Vec<f64> {
    // Count subsets of size m from {0..m+n} by the sum of "number of B values below", i.e. the
    // q-binomial coefficient [m+n choose m]_q; built item by item: ways[k][u].
    let max_u = m * n;
    let mut ways = vec![vec![0f64; max_u + 1]; m + 1];
    if let Some(w) = ways.get_mut(0).and_then(|r| r.get_mut(0)) {
        *w = 1.0;
    }
    // Process the m+n positions in order; placing an A value after `b` B values adds b to U.
    for pos in 0..(m + n) {
        for k in (0..m.min(pos + 1)).rev() {
            let b_before = pos - k;
            if b_before > n {
                continue;
            }
            for u in (0..=max_u.saturating_sub(b_before)).rev() {
                let add = ways.get(k).and_then(|r| r.get(u)).copied().unwrap_or(0.0);
                if add != 0.0
                    && let Some(dst) = ways.get_mut(k + 1).and_then(|r| r.get_mut(u + b_before))
                {
                    *dst += add;
                }
            }
        }
    }
    let row = ways.get(m).cloned().unwrap_or_default();
    let total: f64 = row.iter().sum();
    row.into_iter().map(|w| w / total).collect()
}

/// Complementary error function (W. J. Cody-style rational Chebyshev fit, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Upper tail of the standard normal distribution.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Two-sided Mann–Whitney U test of `a` against `b`; `None` when a sample is empty.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let all: Vec<f64> = a.iter().chain(b).copied().collect();
    let (r, tie_term) = ranks(&all);
    let r1: f64 = r.iter().take(n1).sum();
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u1 = r1 - f1 * (f1 + 1.0) / 2.0;
    let u2 = f1 * f2 - u1;
    let big_u = u1.max(u2);
    let exact = tie_term == 0.0 && n1.min(n2) <= EXACT_MAX_SMALLER && n1 * n2 <= MAX_EXACT_PRODUCT;
    let (p, method) = if exact {
        let pmf = exact_pmf(n1.min(n2), n1.max(n2));
        let from = big_u.round() as usize;
        let sf: f64 = pmf.iter().skip(from).sum();
        ((2.0 * sf).min(1.0), Method::Exact)
    } else {
        let n = f1 + f2;
        let mu = f1 * f2 / 2.0;
        let var = f1 * f2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
        let p = if var <= 0.0 {
            1.0
        } else {
            let z = (big_u - mu - 0.5) / var.sqrt();
            (2.0 * normal_sf(z)).min(1.0)
        };
        (p, Method::Asymptotic)
    };
    Some(MannWhitney {
        n_a: n1,
        n_b: n2,
        u: u1,
        p_value: p,
        rank_biserial: 2.0 * u1 / (f1 * f2) - 1.0,
        median_shift: median(b).unwrap_or(0.0) - median(a).unwrap_or(0.0),
        method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&[7], 95.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn exact_pmf_sums_to_one_and_is_symmetric() {
        let p = exact_pmf(3, 4);
        assert_eq!(p.len(), 13);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for u in 0..13 {
            assert!((p[u] - p[12 - u]).abs() < 1e-12);
        }
        // C(7,3) = 35 arrangements; U = 0 happens once.
        assert!((p[0] - 1.0 / 35.0).abs() < 1e-12);
    }

    #[test]
    fn identical_samples_give_p_one() {
        let m = mann_whitney(&[1.0; 20], &[1.0; 20]).unwrap();
        assert_eq!(m.p_value, 1.0);
        assert_eq!(m.rank_biserial, 0.0);
    }
}
