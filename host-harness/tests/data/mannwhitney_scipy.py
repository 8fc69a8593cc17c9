#!/usr/bin/env python3
"""Writes mannwhitney_scipy.json: test vectors for host_harness::stats::mann_whitney.

Run once with SciPy installed (computed with SciPy 1.17.1):
    python3 -m venv /tmp/sp && /tmp/sp/bin/pip install scipy numpy
    /tmp/sp/bin/python host-harness/tests/data/mannwhitney_scipy.py > host-harness/tests/data/mannwhitney_scipy.json
Each case: samples a and b, and SciPy's mannwhitneyu(a, b) (two-sided, continuity, method auto):
the U statistic of a and the p-value, plus the rank-biserial 2U/(n_a n_b) - 1 and
median(b) - median(a).
"""
import json

import numpy as np
import scipy
from scipy.stats import mannwhitneyu

rng = np.random.default_rng(20240601)


def case(name, a, b):
    a = [float(x) for x in a]
    b = [float(x) for x in b]
    r = mannwhitneyu(a, b, alternative="two-sided", use_continuity=True, method="auto")
    return {
        "name": name,
        "a": a,
        "b": b,
        "u": float(r.statistic),
        "p_value": float(r.pvalue),
        "rank_biserial": 2.0 * float(r.statistic) / (len(a) * len(b)) - 1.0,
        "median_shift": float(np.median(b) - np.median(a)),
    }


cases = [
    case("exact 3 vs 4", [1.1, 2.5, 3.7], [0.4, 2.9, 5.0, 6.2]),
    case("exact 5 vs 5 separated", [1, 2, 3, 4, 5], [6, 7, 8, 9, 10]),
    case("exact 1 vs 7", [3.5], [1, 2, 3, 4, 5, 6, 7]),
    case("exact 8 vs 12", rng.normal(0, 1, 8).round(6), rng.normal(0.8, 1, 12).round(6)),
    case("exact 6 vs 8", rng.exponential(2, 6).round(6), rng.exponential(3, 8).round(6)),
    case("ties small asymptotic", [1, 2, 2, 3, 3, 3], [2, 3, 4, 4, 5]),
    case("all equal", [7] * 10, [7] * 12),
    case("asymptotic 30 vs 40", rng.normal(10, 2, 30).round(6), rng.normal(11, 2, 40).round(6)),
    case("integer ties 200 vs 150", rng.integers(0, 20, 200), rng.integers(2, 22, 150)),
    case("latency-like 1000 vs 1000",
         (rng.lognormal(7.5, 0.3, 1000)).round(0), (rng.lognormal(7.55, 0.3, 1000)).round(0)),
    case("no difference 500 vs 400", rng.normal(5, 1, 500).round(6), rng.normal(5, 1, 400).round(6)),
    case("far apart 50 vs 60", rng.normal(0, 1, 50).round(6), rng.normal(10, 1, 60).round(6)),
]
print(json.dumps({"scipy": scipy.__version__, "cases": cases}, indent=1))
