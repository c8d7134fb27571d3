"""PyTorch's autograd on the iteration that ``python -m tinywgan bench`` times, for comparison.

    pip install torch            # not a dependency of tinywgan
    python benchmarks/torch_gan_toy.py                      # gan_toy: width 512, batch 256
    python benchmarks/torch_gan_toy.py --width 128 --n-critic 1        # the main job's sizes

One generator iteration of WGAN-GP on 8 Gaussians, as tinywgan's: a ReLU generator 2 -> W -> W
-> W -> 2 and critic 2 -> W -> W -> W -> 1, float32, ``n_critic`` critic steps (each: a real
batch, G(z) without gradient, the penalty at interpolates through
``torch.autograd.grad(..., create_graph=True)``, Adam with betas (0.5, 0.9)), then one generator
step. Prints milliseconds per iteration: the median of 5 repeats of 3 iterations, after 2 to
warm up, with the repeats' range. ``--threads`` sets PyTorch's intra-op threads (default 1, as
tinywgan's default BLAS threads); run it beside ``bench`` at the same load.
"""
import argparse
import math
import time

import torch
from torch import nn


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
    p.add_argument("--lam", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    W, B = args.width, args.batch
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
                    + args.lam * ((g.norm(dim=1) - 1) ** 2).mean())
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        loss_g = -D(G(torch.randn(B, 2))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    for _ in range(2):
        iteration()
    ms = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(3):
            iteration()
        ms.append((time.perf_counter() - t0) / 3 * 1e3)
    ms.sort()
    print("torch %s, %d thread(s), width %d, batch %d, n_critic %d: %.1f ms per iteration "
          "(repeats %.1f to %.1f)" % (torch.__version__, args.threads, W, B, args.n_critic, ms[2],
                                      ms[0], ms[-1]))


if __name__ == "__main__":
    main()
