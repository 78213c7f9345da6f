#!/usr/bin/env python3
"""Held-out SDEs (no built-in example) as a user's data set, and a judge of trained models on them.

    python3 benchmarks/heldout_sde.py data CASE OUT        # OUT/x.npy, mu.npy, y.npy, dataset.json
    mpirun -n 2 sdeflow-mpi label --data OUT --output L && mpirun -n 2 sdeflow-mpi train --labels L --output M
    python3 benchmarks/heldout_sde.py judge CASE OUT M [M2 ...] [--rows]

CASE is one of `CASES`. The data: 11 observed mu, 9 100 paths per mu, 10 steps of dt = 0.1 by
Euler-Maruyama with 100 sub-steps (1 001 000 pairs). The judge: from the 5, 25, 50, 75 and 95 %
quantiles of the data's x at the first, middle and last observed mu and the first and last midpoints
(25 rows; in d > 1 the quantiles per coordinate), 400 000 one-step samples of each model (`sdeflow-mpi sample`, on `-n 2`, iid paths) against
400 000 paths of a finer Euler-Maruyama reference (200 sub-steps). Figures: BENCHMARKS.md, "twelfth
session". Needs numpy and `sdeflow-mpi` on PATH (or SDEFLOW_BIN).
"""
import json, os, subprocess, sys, tempfile
import numpy as np

# name: (drift a(x, mu), diffusion b(x, mu), observed mu, initial law); x is (n, d), b is diagonal (n, d)
CASES = {
    "logistic": (lambda x, mu: mu * x * (1 - x), lambda x, mu: 0.4 * x,
                 np.linspace(0.5, 1.5, 11), lambda rng, n: rng.uniform(0.2, 1.2, n)),
    "bell": (lambda x, mu: -mu * x, lambda x, mu: 0.2 + 0.5 * np.exp(-x * x),
             np.linspace(0.5, 2, 11), lambda rng, n: rng.uniform(-2.5, 2.5, n)),
    "dwell": (lambda x, mu: mu * (x - x**3), lambda x, mu: 0.5 + 0 * x,
              np.linspace(0.5, 1.5, 11), lambda rng, n: rng.uniform(-1.8, 1.8, n)),
    # mu in the diffusion too: square-root noise whose size mu sets
    "feller": (lambda x, mu: 1 - x, lambda x, mu: 0.5 * mu * np.sqrt(np.maximum(x, 0)),
               np.linspace(0.5, 1.5, 11), lambda rng, n: rng.uniform(0.2, 2.0, n)),
    # multiplicative noise (dX proportional to X dW) with a mean-reverting drift, mu in the rate
    "mult": (lambda x, mu: mu * (1 - x), lambda x, mu: 0.35 * x,
             np.linspace(0.5, 1.5, 11), lambda rng, n: rng.uniform(0.4, 2.0, n)),
    # noise growing as 1 + x^2 (variance of degree 4 in x) around an OU drift
    "quadnoise": (lambda x, mu: -mu * x, lambda x, mu: 0.25 * (1 + x * x),
                  np.linspace(0.5, 1.5, 11), lambda rng, n: rng.uniform(-1.5, 1.5, n)),
    # d = 2, each coordinate's noise set by the other coordinate, drift a damped rotation
    "cross2d": (lambda x, mu: np.stack([-mu * x[:, 0] + 0.5 * x[:, 1], -0.5 * x[:, 0] - mu * x[:, 1]], 1),
                lambda x, mu: 0.3 * np.sqrt(1 + x[:, ::-1] ** 2),
                np.linspace(0.5, 1.5, 11), lambda rng, n: rng.uniform(-2, 2, (n, 2))),
}
DT = 0.1


def step(case, x, mu, rng, sub):
    """One dt of Euler-Maruyama with `sub` sub-steps."""
    a, b, _, _ = CASES[case]
    h = DT / sub
    x = x.reshape(len(x), -1)
    for _ in range(sub):
        x = x + a(x[:, 0] if x.shape[1] == 1 else x, mu).reshape(x.shape) * h \
            + b(x[:, 0] if x.shape[1] == 1 else x, mu).reshape(x.shape) * np.sqrt(h) * rng.normal(size=x.shape)
    return x


def data(case, out):
    # HELDOUT_DATA_SEED draws another data set of the same law (default 11)
    rng = np.random.default_rng(int(os.environ.get("HELDOUT_DATA_SEED", "11")))
    mus, x0 = CASES[case][2], CASES[case][3]
    xs, ms, ys = [], [], []
    for mu in mus:
        x = x0(rng, 9100)
        for _ in range(10):
            y = step(case, x, mu, rng, 100)
            xs.append(x.reshape(len(x), -1)); ys.append(y); ms.append(np.full(len(y), mu)); x = y
    os.makedirs(out, exist_ok=True)
    for name, v in (("x", xs), ("mu", ms), ("y", ys)):
        v = np.concatenate(v)
        np.save(f"{out}/{name}.npy", v.reshape(len(v), -1))
    json.dump({"dt": DT}, open(f"{out}/dataset.json", "w"))


def judge(case, folder, models, rows):
    rng = np.random.default_rng(12)
    mus = CASES[case][2]
    x, m = np.load(f"{folder}/x.npy"), np.load(f"{folder}/mu.npy")[:, 0]
    binary = os.environ.get("SDEFLOW_BIN", "sdeflow-mpi")
    points = [mus[0], mus[5], mus[10], (mus[0] + mus[1]) / 2, (mus[9] + mus[10]) / 2]
    results = {model: [] for model in models}
    with tempfile.TemporaryDirectory() as tmp:
        for mu in points:
            near = x[m == mus[np.argmin(abs(mus - mu))]]
            for q in (5, 25, 50, 75, 95):
                x0 = np.percentile(near, q, axis=0)  # per coordinate when d > 1
                ref = step(case, np.tile(x0, (400000, 1)), mu, rng, 200)
                for model in models:
                    subprocess.run(["mpirun", "-n", "2", binary, "sample", "--model", model,
                                    "--x0=" + ",".join(map(str, x0)), f"--mu={mu}",
                                    "--steps", "1", "--count", "400000", "--output", f"{tmp}/s.npy"], check=True, capture_output=True)
                    s = np.load(f"{tmp}/s.npy")[:, -1, :]
                    # mean error: |difference of means|_2; variance error: the worst coordinate's
                    ve = s.var(0) / ref.var(0) - 1
                    results[model].append((mu, q, x0[0], np.linalg.norm(s.mean(0) - ref.mean(0)),
                                           ve[np.argmax(abs(ve))], ref.std(0).min()))
    for model, r in results.items():
        r = np.array(r)
        over = ((abs(r[:, 4]) > 0.02) | (r[:, 3] > np.maximum(0.003, 0.01 * r[:, 5]))).sum()
        i, j = np.argmax(abs(r[:, 4])), np.argmax(r[:, 3])
        print(f"{case} {model}: worst variance error {100 * abs(r[i, 4]):.2f} % (q{int(r[i, 1])}, mu = {r[i, 0]:.3f}), "
              f"worst mean error {r[j, 3]:.4f} (q{int(r[j, 1])}, mu = {r[j, 0]:.3f}), rows over target {over} of {len(r)}")
        if rows:
            for mu, q, x0, me, ve, sd in r:
                print(f"  mu = {mu:.3f} q{int(q)} x0[0] = {x0:+.3f}: mean error {me:.4f}, variance error {100 * ve:+.2f} %, sd {sd:.3f}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--rows"]
    if len(args) >= 3 and args[0] == "data" and args[1] in CASES:
        data(args[1], args[2])
    elif len(args) >= 4 and args[0] == "judge" and args[1] in CASES:
        judge(args[1], args[2], args[3:], "--rows" in sys.argv)
    else:
        sys.exit(__doc__)
