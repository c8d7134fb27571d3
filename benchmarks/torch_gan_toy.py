"""PyTorch's autograd on the iteration that ``python -m tinywgan bench`` times, side by side.

    pip install torch            # not a dependency of tinywgan
    python benchmarks/torch_gan_toy.py                      # gan_toy: width 512, batch 256
    python benchmarks/torch_gan_toy.py --width 128 --n-critic 1        # the main job's sizes

One generator iteration of WGAN-GP on 8 Gaussians, as tinywgan's: a ReLU generator 2 -> W -> W
-> W -> 2 and critic 2 -> W -> W -> W -> 1, float32, ``n_critic`` critic steps (each: a real
batch, G(z) without gradient, the penalty (lambda 0.1, gan_toy's) at interpolates through
``torch.autograd.grad(..., create_graph=True)``, Adam with betas (0.5, 0.9)), then one generator
step. It runs inside ``tinywgan.job.bench.run`` as its ``beside``: every repeat times the
floor, tinywgan's iteration and then PyTorch's, in one process, so a machine that changes speed
(a shared one does, by a third from one minute to the next) slows all three alike; the printout
is bench's, with a line for PyTorch: its time and tinywgan's over it, of the median repeat,
and the repeats' range (``--json``: the same in ``beside``). ``--threads`` sets both PyTorch's
intra-op threads and tinywgan's BLAS threads (default 1).
"""
import argparse
import json
import math
import time

import torch
from torch import nn

from tinywgan import threads
from tinywgan.job import bench
from tinywgan.job.config import PRESETS


def mlp(widths):
    """Linear layers with ReLU between them, none after the last."""
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(widths) - 2 else [])
    return nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--n-critic", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--iters-per-repeat", type=int, default=3)
    p.add_argument("--json", action="store_true", help="one JSON line (bench's, with beside)")
    args = p.parse_args()
    threads.use(args.threads)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    W, B, lam = args.width, args.batch, PRESETS["gan_toy"]["lam"]
    G, D = mlp([2, W, W, W, 2]), mlp([2, W, W, W, 1])
    opt_g = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.5, 0.9))
    centres = 2 * torch.tensor([(math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8))
                                for k in range(8)])

    def iteration():
        for _ in range(args.n_critic):
            x_real = centres[torch.randint(0, 8, (B,))] + 0.02 * torch.randn(B, 2)    # (B, 2)
            with torch.no_grad():
                x_fake = G(torch.randn(B, 2))                                        # (B, 2)
            eps = torch.rand(B, 1)
            x_hat = (eps * x_real + (1 - eps) * x_fake).requires_grad_(True)
            g, = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)      # (B, 2)
            loss = (D(x_fake).mean() - D(x_real).mean()
                    + lam * ((g.norm(dim=1) - 1) ** 2).mean())
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        loss_g = -D(G(torch.randn(B, 2))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    def iterate(k):
        t0 = time.perf_counter()
        for _ in range(k):
            iteration()
        return time.perf_counter() - t0

    r = bench.run(width=W, batch=B, n_critic=args.n_critic, repeats=args.repeats,
                  iters_per_repeat=args.iters_per_repeat,
                  beside=("torch", iterate))
    r["beside"]["version"] = torch.__version__
    print(json.dumps(r) if args.json else bench.format_result(r))


if __name__ == "__main__":
    main()
