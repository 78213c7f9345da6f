#!/usr/bin/env python3
"""Collects the `sdeflow-mpi bench` JSON files of a scaling study into one CSV and one
self-contained HTML page (inline SVG, no external assets; Python standard library only).

    python3 jobs/scaling-report.py OUT      # reads OUT/{strong,weak}-n<N>.json, writes OUT/scaling.{csv,html}

Speed-up of a stage at n ranks = throughput(n) / throughput(n0) * n0 (n0 = the smallest rank count
run, normally 1); efficiency = speed-up / n. For weak scaling (problem × n) this is the scaled
speed-up, and efficiency = T(n0) / T(n) for the same work per rank.
"""
import csv
import datetime
import glob
import html
import json
import math
import os
import re
import sys

# (key, title, unit, getter)
STAGES = [
    ("label", "Label kernel: aggregate neighbour-steps/s", "neighbour-steps/s",
     lambda r: (r.get("label_kernel") or {}).get("aggregate_neighbour_steps_per_second")),
    ("knn", "Exact K-NN: aggregate queries/s", "queries/s",
     lambda r: (r.get("neighbour_search") or {}).get("aggregate_queries_per_second")),
    ("train128", "Training 3×128: samples/s", "samples/s", lambda r: training(r, "3x128", "samples_per_second")),
    ("train256", "Training 4×256: samples/s", "samples/s", lambda r: training(r, "4x256", "samples_per_second")),
]
TARGET_EFFICIENCY = {"label": 0.9}  # the target: labels 1 -> 2 ranks >= 90 %


def training(r, name, key):
    for t in r.get("training") or []:
        if t.get("name") == name:
            return t.get(key)
    return None


def get(r, *path):
    for p in path:
        if r is None:
            return None
        r = r.get(p) if isinstance(r, dict) else None
    return r


def load(out):
    runs = []
    for path in sorted(glob.glob(os.path.join(out, "*-n*.json"))):
        m = re.match(r"(strong|weak)-n(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        try:
            with open(path) as f:
                r = json.load(f)
        except (OSError, ValueError) as e:
            print(f"scaling-report: skipping {path}: {e}", file=sys.stderr)
            continue
        r["_study"], r["_ranks"], r["_file"] = m.group(1), int(m.group(2)), os.path.basename(path)
        runs.append(r)
    runs.sort(key=lambda r: (r["_study"] != "strong", r["_ranks"]))
    return runs


def scaling(runs, getter):
    """{study: [(ranks, value, speedup, efficiency, oversubscribed)]}"""
    out = {}
    for study in ("strong", "weak"):
        pts = [(r["_ranks"], getter(r), bool(get(r, "machine", "oversubscribed"))) for r in runs if r["_study"] == study]
        pts = [(n, v, o) for n, v, o in pts if isinstance(v, (int, float)) and v > 0]
        if not pts:
            continue
        n0, v0, _ = pts[0]
        out[study] = [(n, v, v / v0 * n0, v / v0 * n0 / n, o) for n, v, o in pts]
    return out


CSV_COLUMNS = [
    ("study", lambda r: r["_study"]), ("ranks", lambda r: r["_ranks"]),
    ("nodes", lambda r: get(r, "machine", "nodes")), ("max_ranks_per_node", lambda r: get(r, "machine", "max_ranks_per_node")),
    ("nproc", lambda r: get(r, "machine", "nproc")), ("oversubscribed", lambda r: get(r, "machine", "oversubscribed")),
    ("cpu_model", lambda r: get(r, "machine", "cpu_model")), ("load1", lambda r: (get(r, "machine", "load_average") or [None])[0]),
    ("pairs", lambda r: get(r, "settings", "pairs")), ("queries", lambda r: get(r, "settings", "queries")),
    ("neighbors", lambda r: get(r, "settings", "neighbors")), ("ode_steps", lambda r: get(r, "settings", "ode_steps")),
    ("train_rows", lambda r: get(r, "settings", "train_rows")), ("batch_size", lambda r: get(r, "settings", "batch_size")),
    ("label_aggregate_steps_per_s", lambda r: get(r, "label_kernel", "aggregate_neighbour_steps_per_second")),
    ("label_mean_per_rank_steps_per_s", lambda r: get(r, "label_kernel", "mean_per_rank")),
    ("label_rank0_alone_steps_per_s", lambda r: get(r, "label_kernel", "rank0_alone_neighbour_steps_per_second")),
    ("label_wall_s", lambda r: get(r, "label_kernel", "wall_seconds")),
    ("label_ratio_to_roofline", lambda r: get(r, "label_kernel", "ratio_to_roofline")),
    ("roofline_rank0_alone_per_s", lambda r: get(r, "roofline", "rank0_alone_elements_per_second")),
    ("roofline_all_mean_per_rank_per_s", lambda r: get(r, "roofline", "all_ranks_mean_per_rank")),
    ("roofline_sharing_factor", lambda r: get(r, "roofline", "sharing_factor")),
    ("knn_us_per_query", lambda r: get(r, "neighbour_search", "microseconds_per_query")),
    ("knn_aggregate_queries_per_s", lambda r: get(r, "neighbour_search", "aggregate_queries_per_second")),
    ("knn_build_s", lambda r: get(r, "neighbour_search", "build_seconds")),
    ("knn_max_shard_pairs", lambda r: max(get(r, "neighbour_search", "shard_pairs_per_rank") or [0]) or None),
    ("train128_samples_per_s", lambda r: training(r, "3x128", "samples_per_second")),
    ("train128_s_per_epoch", lambda r: training(r, "3x128", "seconds_per_epoch")),
    ("train128_allreduce_ms_per_step", lambda r: ms(training(r, "3x128", "allreduce_seconds_per_step"))),
    ("train256_samples_per_s", lambda r: training(r, "4x256", "samples_per_second")),
    ("train256_s_per_epoch", lambda r: training(r, "4x256", "seconds_per_epoch")),
    ("train256_allreduce_ms_per_step", lambda r: ms(training(r, "4x256", "allreduce_seconds_per_step"))),
    ("peak_mib_max", lambda r: get(r, "memory", "max_peak_mib")),
    ("bench_seconds", lambda r: r.get("seconds")), ("json", lambda r: r["_file"]),
]


def ms(v):
    return None if v is None else 1e3 * v


def write_csv(runs, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([c for c, _ in CSV_COLUMNS])
        for r in runs:
            row = []
            for _, g in CSV_COLUMNS:
                try:
                    v = g(r)
                except Exception:
                    v = None
                row.append("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v))
            w.writerow(row)


COLORS = {"strong": "#1f5fbf", "weak": "#c26a00"}
OVER = "#d00000"


def chart(title, series, ranks, kind, target=None):
    """kind: 'speedup' (ideal y = n) or 'efficiency' (ideal y = 1). series: {study: points}."""
    W, H, L, R, T, B = 450, 310, 58, 24, 46, 56
    xs = sorted(set(ranks)) or [1]
    lx = [math.log2(n) for n in xs]
    x0, x1 = min(lx), max(lx)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    idx = 2 if kind == "speedup" else 3
    vals = [p[idx] for pts in series.values() for p in pts]
    ymax = max(vals + ([max(xs)] if kind == "speedup" else [1.0])) * 1.12
    ymax = max(ymax, 1.2 if kind == "efficiency" else 2)

    def X(n):
        return L + (math.log2(n) - x0) / (x1 - x0) * (W - L - R)

    def Y(v):
        return T + (1 - v / ymax) * (H - T - B)

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img">',
         f'<title>{html.escape(title)}</title>',
         f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">{html.escape(title)}</text>',
         f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#999"/>']
    # y grid
    step = nice_step(ymax / 5)
    v = 0.0
    while v <= ymax + 1e-12:
        y = Y(v)
        lab = f"{v:.0%}" if kind == "efficiency" else f"{v:g}"
        s.append(f'<line x1="{L}" x2="{W - R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                 f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{lab}</text>')
        v += step
    over = {p[0] for pts in series.values() for p in pts if p[4]}
    for n in xs:
        s.append(f'<line x1="{X(n):.1f}" x2="{X(n):.1f}" y1="{T}" y2="{H - B}" stroke="{"#f6b0b0" if n in over else "#eee"}"/>'
                 f'<text x="{X(n):.1f}" y="{H - B + 15}" text-anchor="middle" font-size="11"'
                 f'{f" fill={chr(34)}{OVER}{chr(34)} font-weight={chr(34)}bold{chr(34)}" if n in over else ""}>{n}</text>')
        if n in over:
            anchor = "end" if X(n) > W - R - 40 else "middle"
            s.append(f'<text x="{X(n) + (6 if anchor == "end" else 0):.1f}" y="{H - B + 28}" text-anchor="{anchor}" font-size="10" '
                     f'fill="{OVER}" font-weight="bold">OVERSUBSCRIBED</text>')
    s.append(f'<text x="{(L + W - R) / 2}" y="{H - 4}" text-anchor="middle" font-size="11">ranks</text>')
    s.append(f'<text x="14" y="{(T + H - B) / 2}" text-anchor="middle" font-size="11" '
             f'transform="rotate(-90 14 {(T + H - B) / 2})">{"speed-up" if kind == "speedup" else "efficiency"}</text>')
    # ideal and target
    if kind == "speedup":
        pts = " ".join(f"{X(n):.1f},{Y(n):.1f}" for n in xs)
        s.append(f'<polyline points="{pts}" fill="none" stroke="#888" stroke-dasharray="5,4"/>')
    else:
        s.append(f'<line x1="{L}" x2="{W - R}" y1="{Y(1):.1f}" y2="{Y(1):.1f}" stroke="#888" stroke-dasharray="5,4"/>')
        if target:
            s.append(f'<line x1="{L}" x2="{W - R}" y1="{Y(target):.1f}" y2="{Y(target):.1f}" stroke="#2a2" stroke-dasharray="2,3"/>'
                     f'<text x="{W - R - 4}" y="{Y(target) - 4:.1f}" text-anchor="end" font-size="10" fill="#2a2">target {target:.0%}</text>')
    # series
    for study, pts in series.items():
        c = COLORS[study]
        line = " ".join(f"{X(p[0]):.1f},{Y(p[idx]):.1f}" for p in pts)
        s.append(f'<polyline points="{line}" fill="none" stroke="{c}" stroke-width="2"/>')
        for p in pts:
            x, y = X(p[0]), Y(p[idx])
            val = f"{p[idx]:.0%}" if kind == "efficiency" else f"{p[idx]:.2f}"
            tip = f"{study}, {p[0]} ranks: {val}" + (" (OVERSUBSCRIBED)" if p[4] else "")
            if p[4]:
                s.append(f'<g><title>{html.escape(tip)}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="white" stroke="{OVER}" stroke-width="2.5"/></g>')
            else:
                s.append(f'<g><title>{html.escape(tip)}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{c}"/></g>')
    # legend, in one row between the title and the plot
    lx = L
    for name, colour, dash in [(st, COLORS[st], "") for st in series] + [("ideal", "#888", ' stroke-dasharray="5,4"')]:
        s.append(f'<line x1="{lx}" x2="{lx + 18}" y1="34" y2="34" stroke="{colour}" stroke-width="2"{dash}/>'
                 f'<text x="{lx + 22}" y="38" font-size="11">{name}</text>')
        lx += 30 + 7 * len(name)
    if any(p[4] for pts in series.values() for p in pts):
        s.append(f'<circle cx="{lx + 6}" cy="34" r="5" fill="white" stroke="{OVER}" stroke-width="2"/>'
                 f'<text x="{lx + 15}" y="38" font-size="11" fill="{OVER}">oversubscribed</text>')
    s.append("</svg>")
    return "".join(s)


def nice_step(raw):
    if raw <= 0:
        return 1
    e = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * e:
            return m * e
    return 10 * e


def fmt(v, spec=".3g"):
    return "–" if v is None else format(v, spec)


def render(runs, out):
    ranks = [r["_ranks"] for r in runs]
    over = [r for r in runs if get(r, "machine", "oversubscribed")]
    machines = sorted({(get(r, "machine", "hostname"), get(r, "machine", "cpu_model"), get(r, "machine", "nproc"),
                        get(r, "machine", "vector_isa")) for r in runs}, key=str)
    p = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>sdeflow-mpi scaling study</title>',
         '<style>body{font-family:system-ui,sans-serif;margin:24px;max-width:1000px;color:#222}'
         'table{border-collapse:collapse;font-size:12px;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}'
         'th{background:#f3f3f3}.over td{background:#ffecec}.warn{border:3px solid #d00000;background:#fff0f0;padding:10px 14px;'
         'margin:12px 0;font-size:15px}.ok{border:1px solid #2a2;background:#f0fff0;padding:8px 12px}'
         '.row{display:flex;flex-wrap:wrap;gap:12px}code{background:#f4f4f4;padding:1px 3px}</style></head><body>',
         '<h1>sdeflow-mpi scaling study</h1>',
         f'<p>Generated {datetime.datetime.now().strftime("%Y-%m-%d %H:%M")} from {len(runs)} run(s) of '
         f'<code>sdeflow-mpi bench</code> in <code>{html.escape(out)}</code>.</p>']
    for host, cpu, nproc, isa in machines:
        p.append(f'<p>Node <b>{html.escape(str(host))}</b>: {html.escape(str(cpu))}, {nproc} CPUs (online), widest vector ISA {html.escape(str(isa))}.</p>')
    if over:
        lst = ", ".join(f'{r["_study"]} n={r["_ranks"]} ({get(r, "machine", "max_ranks_per_node")} ranks on a node with {get(r, "machine", "nproc")} CPUs)' for r in over)
        p.append(f'<div class="warn"><b>⚠ {len(over)} of {len(runs)} runs are OVERSUBSCRIBED</b> — more MPI ranks than CPUs on a node: {html.escape(lst)}. '
                 'Those ranks time-share cores, so their speed-up and efficiency measure oversubscription, not how the code scales. '
                 'They are drawn as hollow red circles, marked OVERSUBSCRIBED on the rank axis, and shaded red in the tables.</div>')
    else:
        p.append('<p class="ok">No run is oversubscribed (at most one rank per CPU on every node).</p>')
    p.append('<p>Speed-up = throughput(n) / throughput(n₀) × n₀, n₀ the smallest rank count run; efficiency = speed-up / n. '
             'Strong scaling: fixed problem. Weak scaling: queries, pairs, training rows and global batch × n (same work per rank), '
             'so its speed-up is the scaled speed-up. Dashed grey: ideal.</p>')
    sharing = [(r["_study"], r["_ranks"], get(r, "roofline", "sharing_factor")) for r in runs if get(r, "roofline", "sharing_factor")]
    if sharing:
        p.append('<p>Roofline on all ranks at once vs rank 0 alone (sharing factor: 1 = every rank has its own floating-point units, '
                 '1/ranks = they share them): ' + ", ".join(f"{s} n={n}: {v:.2f}" for s, n, v in sharing) + '.</p>')
    for key, title, unit, getter in STAGES:
        series = scaling(runs, getter)
        if not series:
            continue
        p.append(f'<h2>{html.escape(title)}</h2><div class="row">')
        p.append(chart(f"{title.split(':')[0]} — speed-up", series, ranks, "speedup"))
        p.append(chart(f"{title.split(':')[0]} — efficiency", series, ranks, "efficiency", TARGET_EFFICIENCY.get(key)))
        p.append('</div><table><tr><th>study</th><th>ranks</th><th>' + html.escape(unit) + '</th><th>speed-up</th><th>efficiency</th><th>oversubscribed</th></tr>')
        for study, pts in series.items():
            for n, v, sp, ef, o in pts:
                p.append(f'<tr class="{"over" if o else ""}"><td>{study}</td><td>{n}</td><td>{v:.4g}</td><td>{sp:.2f}</td>'
                         f'<td>{ef:.0%}</td><td>{"YES" if o else "no"}</td></tr>')
        p.append('</table>')
    p.append('<h2>All runs</h2><div style="overflow-x:auto"><table><tr>' + "".join(f"<th>{c}</th>" for c, _ in CSV_COLUMNS if c != "cpu_model") + '</tr>')
    for r in runs:
        cells = []
        for c, g in CSV_COLUMNS:
            if c == "cpu_model":
                continue
            try:
                v = g(r)
            except Exception:
                v = None
            cells.append(f"<td>{html.escape(fmt(v) if isinstance(v, float) else ('–' if v is None else str(v)))}</td>")
        p.append(f'<tr class="{"over" if get(r, "machine", "oversubscribed") else ""}">' + "".join(cells) + '</tr>')
    p.append('</table></div><p>Raw data: <code>scaling.csv</code> and the <code>*.json</code>/<code>*.log</code> files next to this page.</p></body></html>')
    return "\n".join(p)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    runs = load(out)
    if not runs:
        print(f"scaling-report: no bench JSON in {out}", file=sys.stderr)
        sys.exit(1)
    write_csv(runs, os.path.join(out, "scaling.csv"))
    with open(os.path.join(out, "scaling.html"), "w") as f:
        f.write(render(runs, out))
    for key, title, _, getter in STAGES:
        for study, pts in scaling(runs, getter).items():
            print(f"{title} [{study}]: " + ", ".join(
                f"n={n} eff {ef:.0%}{' (oversubscribed)' if o else ''}" for n, _, _, ef, o in pts), file=sys.stderr)


if __name__ == "__main__":
    main()
