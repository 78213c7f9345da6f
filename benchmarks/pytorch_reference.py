"""PyTorch reference for `sdeflow-mpi bench`'s training section (issue 4's baseline).

Times the same work on the same machine: the paper's MLPs (3x128 tanh, 3 -> 1; 4x256 tanh,
5 -> 2), MSE loss, torch.optim.Adam(lr=1e-3), batch 1024, 45 000 rows per epoch in a fresh
permutation, on CPU with 1 and 2 threads. Run it next to the bench (interleaved, idle machine)
so host-speed drift cancels in the ratio:

    python3 benchmarks/pytorch_reference.py [--epochs 3] [--threads 1,2] [--json F]

Needs `pip install torch numpy` (CPU wheel); not part of the test suite.
"""
import argparse, json, time

import torch


def mlp(inputs, hidden, outputs):
    layers, width = [], inputs
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.Tanh()]
        width = h
    layers.append(torch.nn.Linear(width, outputs))
    return torch.nn.Sequential(*layers)


def samples_per_second(inputs, hidden, outputs, rows, batch, epochs, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.randn(rows, inputs)
    y = torch.sin(x.sum(1, keepdim=True) + torch.arange(outputs)) + 0.1 * torch.randn(rows, outputs)
    net = mlp(inputs, hidden, outputs)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()

    def epoch():
        perm = torch.randperm(rows)
        for s in range(0, rows, batch):
            i = perm[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[i]), y[i])
            loss.backward()
            opt.step()

    epoch()  # warm-up
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return rows * epochs / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rows", type=int, default=45000)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--json")
    a = ap.parse_args()
    nets = {"3x128": (3, [128] * 3, 1), "4x256": (5, [256] * 4, 2)}
    out = {"torch": torch.__version__, "batch": a.batch, "rows": a.rows, "results": []}
    for t in [int(s) for s in a.threads.split(",")]:
        for name, (i, h, o) in nets.items():
            r = samples_per_second(i, h, o, a.rows, a.batch, a.epochs, t)
            out["results"].append({"network": name, "threads": t, "samplesPerSecond": r})
            print(f"pytorch {torch.__version__} {name} threads {t}: {r:,.0f} samples/s", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
