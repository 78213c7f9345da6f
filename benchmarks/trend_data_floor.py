#!/usr/bin/env python3
"""How far the data alone pin the one-step mean: the trend's column selection over data seeds.

    python3 benchmarks/trend_data_floor.py EXAMPLE PATHS_PER_MU SEEDS     # EXAMPLE: bm, ou, cir, gbm

Simulates the example's data design exactly in numpy (each seed a new data set), fits the tool's
global trend as `GlobalTrendFit` does for d = 1 (every monomial of the standardised x and mu up to
degree 3; ordinary least squares, a degree-2 variance model of the squared residuals floored at 5 %
of their mean, weighted least squares, backward elimination while the weakest column has t^2 below
the threshold), and reports, per threshold (4, the tool's; 6; 9; BIC's log N), the worst one-step
mean error of the trend over the 5-95 % quantile states at every observed mu and midpoint (absolute
and relative to the target max(0.003, 1 % of the one-step sd)) and, for bm, the ten-step mean error
from x0 = 0 at mu = -0.5, 0.05, 0.5 (target 0.004). Figures: BENCHMARKS.md, "fourteenth session".
"""
import sys, numpy as np
DT = 0.1
def simulate(ex, seed, paths):
    rng = np.random.default_rng(seed)
    if ex == "bm": mus = np.linspace(-1, 1, 21)
    elif ex == "ou": mus = np.linspace(0.5, 2, 21)
    elif ex == "cir": mus = np.linspace(0.5, 2, 11)
    else: mus = np.linspace(-0.5, 0.5, 11)
    X, M, Y = [], [], []
    for m in mus:
        if ex == "bm": x = rng.uniform(-5, 5, paths)
        elif ex == "ou": x = rng.normal(0, np.sqrt((1 + m*m) / (2*m)), paths)
        elif ex == "cir": x = rng.gamma(2*m*1/0.49, 0.49/(2*m), paths)
        else: x = np.exp(rng.normal(0, 0.4, paths))
        for _ in range(10):
            y = step(ex, x, m, rng)
            X.append(x); M.append(np.full(paths, m)); Y.append(y); x = y
    return np.concatenate(X), np.concatenate(M), np.concatenate(Y), mus
def step(ex, x, m, rng):
    if ex == "bm": return x + m*DT + np.sqrt(DT)*rng.normal(size=x.shape)
    if ex == "ou":
        e = np.exp(-m*DT); return x*e + np.sqrt((1+m*m)/(2*m)*(1-e*e))*rng.normal(size=x.shape)
    if ex == "cir":
        s2 = 0.49; e = np.exp(-m*DT); c = s2*(1-e)/(4*m); df = 4*m/s2
        return c*rng.noncentral_chisquare(df, x*e/c)
    return x*np.exp((m - 0.125)*DT + 0.5*np.sqrt(DT)*rng.normal(size=x.shape))
def exact_mean(ex, x, m):
    if ex == "bm": return x + m*DT
    if ex == "ou": return x*np.exp(-m*DT)
    if ex == "cir": return 1 + (x - 1)*np.exp(-m*DT)
    return x*np.exp(m*DT)
def exact_sd(ex, x, m):
    if ex == "bm": return np.sqrt(DT)
    if ex == "ou": e=np.exp(-m*DT); return np.sqrt((1+m*m)/(2*m)*(1-e*e))
    if ex == "cir": e=np.exp(-m*DT); return np.sqrt(x*0.49*e*(1-e)/m + 0.49*(1-e)**2/(2*m))
    return x*np.exp(m*DT)*np.sqrt(np.exp(0.25*DT)-1)
def feats(a, b, deg):
    return np.stack([a**i * b**(t-i) for t in range(deg+1) for i in range(t, -1, -1)], 1)
def fit(x, mu, y, thresholds):
    xm, xs, mm, ms = x.mean(), x.std(), mu.mean(), mu.std()
    F = feats((x-xm)/xs, (mu-mm)/ms, 3); d = y - x
    beta = np.linalg.lstsq(F, d, rcond=None)[0]; r = d - F @ beta
    Q = F[:, :6]; v = Q @ np.linalg.lstsq(Q, r*r, rcond=None)[0]; v = np.maximum(v, 0.05*(r*r).mean())
    w = 1/v; G = (F*w[:, None]).T @ F; rhs = (F*w[:, None]).T @ d; dd = (w*d*d).sum(); n = len(d)
    out = {}
    for T in thresholds:
        keep = list(range(10))
        while True:
            Gi = np.linalg.inv(G[np.ix_(keep, keep)]); b = Gi @ rhs[keep]
            s2 = (dd - b @ rhs[keep])/(n - len(keep)); t2 = b**2/(s2*np.diag(Gi))
            j = np.argmin(t2[1:]) + 1 if len(keep) > 1 else None
            if j is None or t2[j] >= (np.log(n) if T == "bic" else T): break
            keep.pop(j)
        full = np.zeros(10); full[keep] = b
        out[T] = (lambda xv, m, full=full: feats((xv-xm)/xs, (m-mm)/ms, 3) @ full, len(keep))
    return out
ex = sys.argv[1]; paths = int(sys.argv[2]); seeds = range(1, 1 + int(sys.argv[3]))
TH = [4, 6, 9, "bic"]
res = {T: [] for T in TH}
for s in seeds:
    x, mu, y, mus = simulate(ex, s, paths)
    fits = fit(x, mu, y, TH)
    grid = np.sort(np.concatenate([mus, (mus[1:] + mus[:-1])/2]))
    for T in TH:
        g, k = fits[T]; worst = 0; worstrel = 0
        for m in grid:
            near = x[mu == mus[np.argmin(abs(mus - m))]]
            xs_ = np.percentile(near, [5, 25, 50, 75, 95])
            e = g(xs_, np.full(5, m)) - (exact_mean(ex, xs_, m) - xs_)
            tgt = np.maximum(0.003, 0.01*exact_sd(ex, xs_, m))
            worst = max(worst, abs(e).max()); worstrel = max(worstrel, (abs(e)/tgt).max())
        ten = [10*(g(np.array([0.0]), np.array([m]))[0] - m*DT) for m in (-0.5, 0.05, 0.5)] if ex == "bm" else [0]
        res[T].append((worst, worstrel, max(abs(np.array(ten))), k))
for T in TH:
    r = np.array(res[T])
    print(f"{ex} paths {paths} threshold {T}: one-step worst err mean {r[:,0].mean():.4f} max {r[:,0].max():.4f}; /target mean {r[:,1].mean():.2f} max {r[:,1].max():.2f}, seeds over {(r[:,1]>1).sum()}/{len(r)}; ten-step worst mean {r[:,2].mean():.4f} max {r[:,2].max():.4f} over {(r[:,2]>0.004).sum()}; cols {r[:,3].mean():.1f}")
