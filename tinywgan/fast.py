r"""The fast path: the same critic and generator steps as ``train.Trainer``, with the products
fused and every buffer allocated once.

Read ``train.Trainer.critic_step`` and ``mlp.MLP.gradient_penalty`` first: they are the
derivation; this module computes exactly the same numbers (the same random draws in the same
order, tested to 1e-12 in float64 by ``tests/test_fast.py``) in fewer, larger products.

When it applies (``applies``): ``cfg.fast``, a piecewise-linear activation (ReLU, leaky ReLU:
``s'' = 0``, so the penalty's second-order path is empty, DESIGN.md), no spectral normalisation,
method 'wgan-gp', 'wgan' or 'gan'. Anything else runs the plain path.

Notation as in ``mlp.py`` (0-based layers l = 0..L-1, ``A[l] = H[l] W[l] + b[l]``,
``H[l+1] = s(A[l])``), and for a piecewise-linear s two identities do the work:

    s(a) = a * s'(a)                       so the forward computes the mask S[l] = s'(A[l]) once
                                           and H[l+1] = A[l] * S[l];
    G[l-1] = P[l] * S[l-1]                 the masks are reused by every backward pass.

**One critic step, R = 3B stacked rows** ``X = [x_real; x_fake; x_hat]`` (wgan and gan: 2B rows,
no x_hat):

1. Forward, one product per layer over all rows: ``H[l+1] = (H[l] W[l] + b[l]) * S[l]``.
   (Plain: three ``D.forward`` calls, on real, fake and interpolates.)
2. Backward, one product per layer over all rows, seeded with
   ``Dl[L-1] = [dL/df_real; dL/df_fake; 1]``:  ``Dl[l-1] = (Dl[l] W[l]^T) * S[l-1]``.
   The real and fake rows are the Wasserstein term's ``dA`` (``MLP.backward``), the x_hat rows are
   the input-gradient pass's ``G`` (``MLP._input_gradient``, seed ``G[L-1] = 1``): both are the
   same recurrence, so one product serves both. ``dx`` is skipped at the first layer except for
   the x_hat rows, where it is the penalised input gradient ``grad_x = P[0] = G[0] W[0]^T``.
3. Penalty (as ``MLP.gradient_penalty``): ``Pbar[0] = 2 lam/B (||g|| - 1) g/||g||``, then, from
   the input layer up, ``Pbar[l+1] = (Pbar[l] W[l]) * S[l]`` on the x_hat rows only
   (``Gbar = Pbar W``, ``Pbar = Gbar * s'``). ``Pbar[l]`` overwrites the x_hat rows of ``H[l]``,
   which nothing needs any more.
4. Weight gradients, ONE product per layer over all rows:

       dW[l] = [H_real[l]; H_fake[l]; Pbar[l]]^T [dA_real[l]; dA_fake[l]; G[l]]
             = H_real^T dA_real + H_fake^T dA_fake      (Wasserstein term, MLP.backward)
               + Pbar[l]^T G[l]                         (penalty, Wbar += Pbar^T G)

   ``db[l] = sum of dA over the real and fake rows`` (the penalty adds nothing to the biases when
   s'' = 0). The products write straight into the flat gradient buffer (``out=``): each step
   *sets* every gradient, so no ``zero_grad`` is needed.

Per critic step this is (in units of one (B x W)(W x W) product, per hidden-to-hidden layer):
forward 3, backward 3, weight gradient 3, penalty reverse 1, plus 1 for the generator's forward
(no cache: its masks are not kept): 11, as DESIGN.md counts, in products 3x as tall.

**One generator step**: the generator's forward with masks, the critic's forward on B rows,
the critic's backward to its input only (no weight gradients), the generator's backward writing
``dW``, ``db`` (no ``dz``).
"""
from . import backend, data
from .losses import (gan_discriminator_loss, gan_generator_loss, wasserstein_critic_loss,
                     wasserstein_generator_loss)

#: The methods whose steps the fast path computes (spectral norm keeps the plain path).
METHODS = ("wgan-gp", "wgan", "gan")


def applies(trainer):
    """True when ``trainer``'s steps can take the fast path (see the module docstring)."""
    cfg = trainer.cfg
    return (getattr(cfg, "fast", False) and cfg.method in METHODS
            and not trainer.D.act.second_order and not trainer.G.act.second_order
            and trainer.D.sn is None and trainer.G.sn is None)


def _slope(act):
    """s'(a) for a <= 0: 0 for ReLU, k for leaky ReLU."""
    return float(getattr(act, "slope", 0.0))


class Workspace:
    """Every buffer one trainer's fast steps need, allocated once.

    Critic (R rows: 3B for wgan-gp, else 2B): ``H[l]: (R, d_l)`` (``H[0]`` the stacked inputs),
    ``S[l]: (R, d_{l+1})`` masks, ``Dl[l]: (R, d_{l+1})`` the backward's dA / G, ``f: (R, 1)``.
    Generator: ``Hg``, ``Sg``, ``Dg`` the same for B rows (``Hg[0]`` is z, not stored).
    The generator step's critic pass uses the first B rows of the critic's buffers.
    """

    def __init__(self, trainer):
        cfg, D, G = trainer.cfg, trainer.D, trainer.G
        xp, dt, B = trainer.xp, D.dtype, cfg.batch
        self.key = _key(trainer)
        self.B = B
        self.R = R = 3 * B if cfg.method == "wgan-gp" else 2 * B
        wd, wg = D.widths, G.widths
        self.H = [xp.empty((R, w), dtype=dt) for w in wd[:-1]]
        self.S = [xp.empty((R, w), dtype=dt) for w in wd[1:-1]]
        self.Dl = [xp.empty((R, w), dtype=dt) for w in wd[1:]]
        self.f = xp.empty((R, wd[-1]), dtype=dt)
        self.Hg = [None] + [xp.empty((B, w), dtype=dt) for w in wg[1:-1]]
        self.Sg = [xp.empty((B, w), dtype=dt) for w in wg[1:-1]]
        self.Dg = [xp.empty((B, w), dtype=dt) for w in wg[1:]]
        self.x_gen = xp.empty((B, wg[-1]), dtype=dt)


def _key(trainer):
    cfg = trainer.cfg
    return (cfg.method, cfg.batch, tuple(trainer.D.widths), tuple(trainer.G.widths),
            str(trainer.D.dtype), trainer.xp.__name__)


def workspace(trainer):
    """The trainer's Workspace, made on first use (and remade if the configuration changed)."""
    ws = getattr(trainer, "_fast_workspace", None)
    if ws is None or ws.key != _key(trainer):
        ws = trainer._fast_workspace = Workspace(trainer)
    return ws


# ------------------------------------------------------------------------------------------------
# Building blocks on preallocated buffers
# ------------------------------------------------------------------------------------------------

def forward(net, H, S, out, slope):
    r"""Forward of ``net`` on ``H[0]: (N, d_0)`` into preallocated buffers.

    ``H[l+1] = s(A[l])`` with ``A[l] = H[l] W[l] + b[l]`` and ``S[l] = s'(A[l])`` written in place
    (``s(a) = a s'(a)`` for ReLU and leaky ReLU); ``out: (N, d_L)`` gets ``A[L-1]``.
    No cache (the critic step's generator forward): ``S=None`` applies ReLU in place, and for
    leaky ReLU ``S = [scratch]``, one mask buffer reused by every layer.
    """
    xp = backend.get_array_module(out)
    L = len(H)
    for l in range(L):
        a = H[l + 1] if l < L - 1 else out
        xp.matmul(H[l], net.W[l], out=a)                  # A[l] = H[l] W[l]      (N, d_{l+1})
        a += net.b[l]                                     #        + b[l]
        if l == L - 1:
            break
        if S is None:                                     # ReLU without a cache
            xp.maximum(a, 0, out=a)                       # H = max(A, 0)
            continue
        m = S[l] if len(S) == L - 1 else S[0]
        xp.greater(a, 0, out=m)                           # s'(A) = 1[A > 0] ...
        if slope:
            xp.maximum(m, slope, out=m)                   # ... or k where A <= 0 (leaky)
        a *= m                                            # H[l+1] = A s'(A) = s(A)
    return out


def backward_rows(net, Dl, S):
    r"""``Dl[l-1] = (Dl[l] W[l]^T) * S[l-1]`` for l = L-1..1, on all rows of the buffers.

    With ``Dl[L-1]`` = dLoss/df this is ``MLP.backward``'s dA; with ``Dl[L-1] = 1`` it is the
    input-gradient pass's G (``MLP._input_gradient``). The first layer's dx is not formed here.
    """
    xp = backend.get_array_module(Dl[0])
    for l in range(len(Dl) - 1, 0, -1):
        d = Dl[l - 1]
        if Dl[l].shape[1] == 1:                           # a scalar output: an outer product,
            xp.multiply(Dl[l], net.W[l].T, out=d)         # cheaper as a broadcast than a GEMM
        else:
            xp.matmul(Dl[l], net.W[l].T, out=d)           # dH[l] = Dl[l] W[l]^T  (N, d_l)
        d *= S[l - 1]                                     # dA[l-1] = dH[l] s'(A[l-1])


# ------------------------------------------------------------------------------------------------
# The two steps
# ------------------------------------------------------------------------------------------------

def critic_step(trainer, t, k):
    """``Trainer.critic_step`` on the fast path: same draws, same numbers, same returned dict."""
    cfg, D, G, xp = trainer.cfg, trainer.D, trainer.G, trainer.xp
    ws = workspace(trainer)
    B, L, gp = ws.B, D.L, cfg.method == "wgan-gp"
    H, S, Dl, f = ws.H, ws.S, ws.Dl, ws.f
    X = H[0]                                                                  # (R, d)

    # 1. the draws, in the plain path's order: data, then z, then eps
    gen = backend.rng(xp, cfg.seed, "critic", t, k)
    x_real = data.sample(cfg.dataset, B, gen, D.dtype)                        # (B, d)
    z = gen.standard_normal((B, cfg.latent), dtype=G.dtype)                   # (B, latent)
    X[:B] = x_real
    x_fake = X[B:2 * B]
    forward(G, [z] + ws.Hg[1:], None if _slope(G.act) == 0 else ws.Sg[:1], x_fake,
            _slope(G.act))                                                    # G(z), no cache
    if gp:
        eps = gen.random((B, 1), dtype=D.dtype)                               # per example
        x_hat = X[2 * B:]
        xp.multiply(eps, x_real, out=x_hat)
        x_hat += (1 - eps) * x_fake                       # x_hat = eps x + (1 - eps) x_fake

    # 2. the critic's forward on all rows at once, keeping the masks
    forward(D, H, S, f, _slope(D.act))                                        # (R, 1)
    f_real, f_fake = f[:B], f[B:2 * B]
    if cfg.method == "gan":
        loss, d_real, d_fake = gan_discriminator_loss(f_real, f_fake)
    else:
        loss, d_real, d_fake = wasserstein_critic_loss(f_real, f_fake)
    out = {"critic_loss": loss, "w_estimate": f_real.mean() - f_fake.mean()}

    # 3. one backward over all rows: dA of the loss (real, fake rows), G of f (x_hat rows)
    seed = Dl[L - 1]
    seed[:B] = d_real
    seed[B:2 * B] = d_fake
    if gp:
        seed[2 * B:] = 1                                                      # G[L-1] = 1
    backward_rows(D, Dl, S)

    # 4. the penalty, as MLP.gradient_penalty, on the x_hat rows only
    if gp:
        grad_x = Dl[0][2 * B:] @ D.W[0].T                       # g = P[0] = G[0] W[0]^T  (B, d)
        norms = xp.sqrt((grad_x * grad_x).sum(axis=1))                        # (B,)
        gap = norms - 1.0
        out["penalty"] = cfg.lam / B * (gap * gap).sum()
        out["grad_norm"] = norms.mean()
        unit = grad_x / xp.maximum(norms, xp.finfo(D.dtype).tiny)[:, None]
        xp.multiply((2 * cfg.lam / B * gap)[:, None], unit, out=X[2 * B:])    # Pbar[0]
        for l in range(L - 1):                         # Pbar[l+1] = (Pbar[l] W[l]) s'(A[l])
            p_next = H[l + 1][2 * B:]
            xp.matmul(H[l][2 * B:], D.W[l], out=p_next)                       # Gbar[l]
            p_next *= S[l][2 * B:]

    # 5. weight gradients: one product per layer over the stacked rows (see the docstring)
    for l in range(L):
        xp.matmul(H[l].T, Dl[l], out=D.dW[l])          # H^T dA (real, fake) + Pbar^T G (x_hat)
        Dl[l][:2 * B].sum(axis=0, out=D.db[l])         # sum_rows dA (real, fake)

    return trainer.critic_update(out)


def generator_step(trainer, t):
    """``Trainer.generator_step`` on the fast path. Returns {'gen_loss', 'gen_grad_sq'}."""
    cfg, D, G, xp = trainer.cfg, trainer.D, trainer.G, trainer.xp
    ws = workspace(trainer)
    B = ws.B
    gen = backend.rng(xp, cfg.seed, "gen", t)
    z = gen.standard_normal((B, cfg.latent), dtype=G.dtype)                   # (B, latent)

    # 1. forward through G (masks kept) and D (first B rows of the critic's buffers)
    Hg = [z] + ws.Hg[1:]
    forward(G, Hg, ws.Sg, ws.x_gen, _slope(G.act))                            # (B, d)
    Hd = [ws.x_gen] + [h[:B] for h in ws.H[1:]]
    Sd, Dd = [s[:B] for s in ws.S], [d[:B] for d in ws.Dl]
    f = ws.f[:B]
    forward(D, Hd, Sd, f, _slope(D.act))                                      # (B, 1)
    if cfg.method == "gan":
        loss, d_fake = gan_generator_loss(f, cfg.gan_loss)
    else:
        loss, d_fake = wasserstein_generator_loss(f)

    # 2. D's backward to its input only; dx seeds G's backward
    Dd[-1][...] = d_fake
    backward_rows(D, Dd, Sd)
    Dg = ws.Dg
    xp.matmul(Dd[0], D.W[0].T, out=Dg[-1])                 # dx = dA[0] W[0]^T       (B, d)

    # 3. G's backward, writing dW, db (no dz)
    for l in range(G.L - 1, -1, -1):
        xp.matmul(Hg[l].T, Dg[l], out=G.dW[l])                                # H^T dA
        Dg[l].sum(axis=0, out=G.db[l])
        if l > 0:
            xp.matmul(Dg[l], G.W[l].T, out=Dg[l - 1])                         # dH = dA W^T
            Dg[l - 1] *= ws.Sg[l - 1]                                         # dA = dH s'(A)
    trainer.opt_g.step(G.params, G.grads)
    return {"gen_loss": loss, "gen_grad_sq": G.grads @ G.grads}
