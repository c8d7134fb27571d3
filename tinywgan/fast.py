r"""The fused steps: a second implementation of ``tinywgan.core.steps`` (``generate``,
``critic_grads``, ``generator_grads``: the same signatures, the same numbers, the same random
inputs), in fewer, larger products on buffers allocated once.

Read ``tinywgan/core/steps.py`` and ``tinywgan/core/mlp.py`` first: they are the derivation.
This module computes exactly their numbers (``tests/test_fast.py``: to 1e-12 in float64; the
products only sum in another order), and ``python -m tinywgan gradcheck`` checks it against finite
differences too. The main job chooses between the two in one place
(``tinywgan.job.training.build_parts``); a Trainer takes either as its ``step_fns``.

The derivation is not repeated here: the numbered steps below are the penalty's steps (1)-(4)
(``tinywgan.core.mlp.gradient_penalty``) rearranged onto stacked rows, and each names the plain function it stands for.

When it applies (``applies``): a method of ``FUSED_METHODS`` (spectral norm keeps the plain
steps), networks whose activation is piecewise linear (ReLU, leaky ReLU). Two identities then
do the work:

    s(a) = a * s'(a)             the forward computes the mask s'(A[l]) once, H[l+1] = A[l] mask[l]
    s''(a) = 0                   the penalty's second-order path is empty (its step 4)

**One critic step stacks the inputs as rows** of one matrix, ``X = H[0]: (R, d)``, in three
named row blocks: ``REAL`` = x_real, ``FAKE`` = x_fake, ``INTERP`` = x_hat (R = 3B; without a
penalty R = 2B and there is no INTERP block). Then, one product per layer over all R rows each:

1. Forward: ``A[l] = H[l] W[l] + b[l]``, ``mask[l] = s'(A[l])``, ``H[l+1] = A[l] mask[l]``.
   (Plain: three ``D.forward`` calls.)
2. Backward, seeded with ``dA[L-1] = [dL/df_real; dL/df_fake; 1]``: the MLP's recurrence
   (``MLP.backprop``) on every row at once. On the REAL and FAKE rows it is the loss's
   backward; on the INTERP rows, seeded with 1, it is the penalty's step (1), gA = df/dA: one
   product serves both. The input gradient is ``g = gA[0] W[0]^T`` on the INTERP rows only.
3. Penalty: step (2), ``mlp.penalty_head`` itself, then step (3)'s reverse pass on the
   INTERP rows (its A_bar is 0 here), writing gH_bar[l] over the INTERP rows of H[l], which
   nothing needs any more.
4. Weight gradients, ONE product per layer over all rows:

       dW[l] = H[l]^T dA[l] = H_real^T dA_real + H_fake^T dA_fake      (the loss, MLP.backward)
                              + gH_bar[l]^T gA[l]                      (penalty, W_bar)

   ``db[l] = sum of dA[l] over the REAL and FAKE rows`` (with s'' = 0 the penalty adds nothing
   to the biases). The products write straight into the gradient buffer (``out=``): each step
   *sets* every gradient.

**One generator step**: G's forward with masks (B rows), D's forward on G(z), D's backward to its
input only (no parameter gradients), G's backward writing dW, db (no dz); D's pass runs in the
first B rows of the critic step's buffers, which that step no longer needs (RpGAN's f(x_real),
a constant for G, in the next B). ``generate`` is G's forward without masks (ReLU in place), for
the critic step's x_fake.

**R1 and R2** (``steps``' zero-centred penalties on the REAL or FAKE rows) need the input
gradient on rows whose backward already carries the loss's seed dL/df_i. No extra rows are
needed: the backward is linear in its seed and the masks are the row's own, so on row i

    dA[l]_i = dL/df_i * gA[l]_i             (the loss's backward = dL/df_i times the pass seeded 1)

Those rows are seeded with 1 instead, so the backward gives gA there, the penalty's head and
reverse pass run on them as on INTERP, and step 4 still needs ONE product per layer:

    H_rows^T dA_rows + gH_bar^T gA  =  (dL/df * H[l] + gH_bar[l])_rows^T gA[l]_rows

(the rows of H[l] are overwritten with what the bracket holds; ``_penalty_reverse``), and the
biases take sum_rows dL/df_i gA[l]_i. The identity holds row by row, so it serves the WGAN's
dL/df (the constant -1/B) and the GAN's (a different sigmoid on every row) alike.

Per critic step and hidden-to-hidden layer this is, in units of one (B x W)(W x W) product:
forward 3, backward 3, weight gradient 3, penalty reverse 1, plus 1 for ``generate``: 11, as
the plain steps need (``bench.matmul_count``), in products 3x as tall.
"""
from .backend import get_array_module
from .core.mlp import LeakyReLU, ReLU, penalty_head
from .core.steps import (GAN_LOSSES, INTERPOLATING, PAIRED, check_critic_args, check_pairs,
                         critic_loss, generator_loss, interpolates)
from .validate import choice

#: The methods the fused steps compute (spectral norm, 'wgan-sn', keeps the plain steps).
FUSED_METHODS = ("wgan-gp", "wgan-lp", "wgan", "gan", "rpgan")


def applies(method, *nets):
    """True when the fused steps compute ``method`` for these networks (module docstring)."""
    return method in FUSED_METHODS and all(isinstance(net.act, (ReLU, LeakyReLU))
                                           and net.sn is None for net in nets)


def _slope(act):
    """s'(a) for a <= 0: 0 for ReLU, k for leaky ReLU."""
    return float(getattr(act, "slope", 0.0))


def _blocks(B):
    """The critic step's row blocks: x_real, x_fake, x_hat (module docstring)."""
    return slice(0, B), slice(B, 2 * B), slice(2 * B, 3 * B)


class Buffers:
    """Every array one fused pass of ``net`` over ``rows`` rows needs, allocated once.

    H[l]: (rows, d_l)        layer l's input (H[0]: the stacked inputs X)
    mask[l]: (rows, d_{l+1}) s'(A[l]) of hidden layer l (l < L-1)
    dA[l]: (rows, d_{l+1})   the backward's dLoss/dA[l] (or gA[l] = df/dA[l])
    out: (rows, d_L)         the output f (or G(z))
    """

    def __init__(self, net, rows):
        xp, dt, w = net.xp, net.dtype, net.widths
        self.H = [xp.empty((rows, d), dtype=dt) for d in w[:-1]]
        self.mask = [xp.empty((rows, d), dtype=dt) for d in w[1:-1]]
        self.dA = [xp.empty((rows, d), dtype=dt) for d in w[1:]]
        self.out = xp.empty((rows, w[-1]), dtype=dt)


# ------------------------------------------------------------------------------------------------
# Building blocks on preallocated buffers
# ------------------------------------------------------------------------------------------------

def forward(net, H, mask, out):
    r"""Forward of ``net`` on ``H[0]: (N, d_0)`` into preallocated buffers.

    ``A[l] = H[l] W[l] + b[l]``, ``mask[l] = s'(A[l])``, ``H[l+1] = A[l] mask[l]`` (= s(A[l]) for
    ReLU and leaky ReLU); ``out: (N, d_L)`` gets ``A[L-1]``. For ReLU, ``mask=None`` keeps no
    masks and applies max(A, 0) in place (``generate``).
    """
    xp, slope, L = get_array_module(out), _slope(net.act), len(H)
    for l in range(L):
        a = H[l + 1] if l < L - 1 else out
        xp.matmul(H[l], net.W[l], out=a)                  # A[l] = H[l] W[l]      (N, d_{l+1})
        a += net.b[l]                                     #        + b[l]
        if l == L - 1:
            break
        if mask is None:                                  # ReLU without masks
            xp.maximum(a, 0, out=a)                       # H = max(A, 0)
            continue
        m = mask[l]
        xp.greater(a, 0, out=m)                           # s'(A) = 1[A > 0] ...
        if slope:
            xp.maximum(m, slope, out=m)                   # ... or k where A <= 0 (leaky)
        a *= m                                            # H[l+1] = A s'(A) = s(A)
    return out


def backward(net, dA, mask):
    r"""``dA[l-1] = (dA[l] W[l]^T) * mask[l-1]`` for l = L-1..1, on all rows of the buffers.

    Seeded with ``dA[L-1]`` = dLoss/df this is ``MLP.backward``'s recurrence; seeded with 1 it is
    the input-gradient pass's gA. The first layer's dx is not formed here.
    """
    xp = get_array_module(dA[0])
    for l in range(len(dA) - 1, 0, -1):
        d = dA[l - 1]
        if dA[l].shape[1] == 1:                           # a scalar output: an outer product,
            xp.multiply(dA[l], net.W[l].T, out=d)         # cheaper as a broadcast than a GEMM
        else:
            xp.matmul(dA[l], net.W[l].T, out=d)           # dH[l] = dA[l] W[l]^T  (N, d_l)
        d *= mask[l - 1]                                  # dA[l-1] = dH[l] s'(A[l-1])


def _penalty_reverse(D, H, mask, rows, gH_bar0, d_loss, scratch):
    r"""Step 3's reverse pass on the rows ``rows``, from gH_bar[0] = ``gH_bar0``: (B, d_0),

        gH_bar[l+1] = (gH_bar[l] W[l]) s'(A[l])                      l = 0..L-2

    leaving in the rows of H[l] what step 4's product needs there: gH_bar[l] on the INTERP rows
    (``d_loss`` None: their H is needed no more, so the pass runs in place), and
    dL/df * H[l] + gH_bar[l] on loss rows seeded with 1 for R1 or R2 (``d_loss``: (B, 1) their
    dL/df; the pass runs in ``scratch``, a list of (B, d_l) buffers).
    """
    xp = get_array_module(gH_bar0)
    bar = [h[rows] for h in H] if d_loss is None else scratch          # where gH_bar[l] goes
    bar[0][...] = gH_bar0
    for l in range(D.L - 1):
        xp.matmul(bar[l], D.W[l], out=bar[l + 1])                       # gA_bar[l] = gH_bar W
        bar[l + 1] *= mask[l][rows]                                     # gH_bar[l+1]
    if d_loss is not None:
        for l in range(D.L):
            h = H[l][rows]
            h *= d_loss                                                 # dL/df H[l]
            h += bar[l]                                                 #   + gH_bar[l]


# ------------------------------------------------------------------------------------------------
# The steps
# ------------------------------------------------------------------------------------------------

class FusedSteps:
    """``generate``, ``critic_grads`` and ``generator_grads`` of ``tinywgan.core.steps``, fused.

    Holds the buffers (``Buffers``), made on first use for each network and row count.
    An array returned by ``generate`` is one of them: valid until the next call.
    """

    def __init__(self):
        self._buffers = {}

    def buffers(self, role, net, rows):
        """The Buffers of ``role`` ('critic', 'generator', 'reverse': R1's or R2's reverse pass)
        for ``net``."""
        key = (role, tuple(net.widths), rows, str(net.dtype), net.xp.__name__)
        if key not in self._buffers:
            self._buffers[key] = Buffers(net, rows)
        return self._buffers[key]

    def _check(self, method, *nets):
        if not applies(method, *nets):
            raise ValueError("the fused steps compute %s for ReLU-family networks without "
                             "spectral norm; got method %r and %s: use tinywgan.core.steps"
                             % (FUSED_METHODS, method, ", ".join(map(repr, nets))))

    def generate(self, G, z):
        """x_fake = G(z) into a buffer. Inputs: z: (B, latent). Returns x_fake: (B, d)."""
        buf = self.buffers("generator", G, z.shape[0])
        return forward(G, [z] + buf.H[1:], buf.mask if _slope(G.act) else None, buf.out)

    def critic_grads(self, D, x_real, x_fake, eps=None, method="wgan-gp", lam=1.0, r1=0.0,
                     r2=0.0):
        """``steps.critic_grads``, fused (module docstring, steps 1-4, and R1, R2)."""
        self._check(method, D)
        r1, r2 = check_critic_args("critic_grads", D, method, lam, r1, r2)
        check_pairs("critic_grads", method, x_real, x_fake)
        xp, B, L = D.xp, x_real.shape[0], D.L
        interpolating = method in INTERPOLATING
        buf = self.buffers("critic", D, 3 * B if interpolating else 2 * B)
        H, mask, dA, f = buf.H, buf.mask, buf.dA, buf.out
        REAL, FAKE, INTERP = _blocks(B)
        LOSS = slice(0, 2 * B)                                 # the rows of the loss term
        X = H[0]                                                                  # (R, d)
        X[REAL] = x_real
        X[FAKE] = x_fake
        if interpolating:
            X[INTERP] = interpolates(x_real, x_fake, eps)      # eps x + (1 - eps) x_fake

        # 1. the forward on all rows at once, keeping the masks
        forward(D, H, mask, f)                                                    # (R, 1)
        loss, d_real, d_fake = critic_loss(method, f[REAL], f[FAKE])
        out = {"w_estimate": f[REAL].mean() - f[FAKE].mean()}

        # the penalties: (name, rows, weight, target, one-sided, the loss's dL/df on the rows)
        penalties = [("penalty", INTERP, lam, 1.0, method == "wgan-lp", None)] \
            if interpolating else []
        penalties += [(name, rows, gamma / 2, 0.0, False, d_loss) for name, rows, gamma, d_loss
                      in (("r1", REAL, r1, d_real), ("r2", FAKE, r2, d_fake)) if gamma]

        # 2. one backward over all rows, seeded with dL/df (the loss) or 1 (gA, a penalty's)
        dA[L - 1][REAL] = 1 if r1 else d_real
        dA[L - 1][FAKE] = 1 if r2 else d_fake
        if interpolating:
            dA[L - 1][INTERP] = 1                                                 # gA[L-1] = 1
        backward(D, dA, mask)

        # 3. each penalty on its rows: its head, then the reverse pass
        for name, rows, weight, target, one_sided, d_loss in penalties:
            grad_x = dA[0][rows] @ D.W[0].T                    # g = gH[0] = gA[0] W[0]^T (B, d)
            R, norms, gH_bar0 = penalty_head(grad_x, weight, target, one_sided)
            scratch = None if d_loss is None else self.buffers("reverse", D, B).H
            _penalty_reverse(D, H, mask, rows, gH_bar0, d_loss, scratch)
            loss = loss + R
            out[name] = R
            if name == "penalty":
                out["grad_norm"] = norms.mean()

        # 4. weight gradients: one product per layer over the stacked rows
        for l in range(L):
            xp.matmul(H[l].T, dA[l], out=D.dW[l])      # H^T dA (REAL, FAKE) + gH_bar^T gA
            for _, rows, _, _, _, d_loss in penalties:
                if d_loss is not None:
                    dA[l][rows] *= d_loss              # gA -> the loss's dA = dL/df gA
            dA[l][LOSS].sum(axis=0, out=D.db[l])       # sum_rows dA (REAL, FAKE)
        out["critic_loss"] = loss
        return out

    def generator_grads(self, G, D, z, method="wgan-gp", gan_loss="nonsaturating", noise=None,
                        x_real=None):
        """``steps.generator_grads``, fused (module docstring)."""
        self._check(method, G, D)
        choice("generator_grads: gan_loss", gan_loss, GAN_LOSSES)
        xp, B = G.xp, z.shape[0]
        g = self.buffers("generator", G, B)
        # D's pass runs in the first B rows of the critic step's buffers (the critic step is
        # done with them; reusing them keeps the working set small)
        c = self.buffers("critic", D, (3 if method in INTERPOLATING else 2) * B)
        top = slice(0, B)
        H_D, mask_D, dA_D, f_fake = ([a[top] for a in c.H], [a[top] for a in c.mask],
                                      [a[top] for a in c.dA], c.out[top])

        # 1. forward through G (masks kept) and D
        Hg = [z] + g.H[1:]
        forward(G, Hg, g.mask, g.out)                                             # (B, d)
        if noise is not None:
            g.out += noise                             # instance noise: D sees G(z) + noise
        forward(D, [g.out] + H_D[1:], mask_D, f_fake)                             # (B, 1)
        f_real = None
        if method in PAIRED:                           # f(x_real) in the next B rows (B, 1)
            check_pairs("generator_grads", method, x_real, g.out)
            nxt = slice(B, 2 * B)
            f_real = forward(D, [x_real] + [a[nxt] for a in c.H[1:]],
                             [a[nxt] for a in c.mask], c.out[nxt])
        loss, d_fake = generator_loss(method, f_fake, gan_loss, f_real)

        # 2. D's backward to its input only; its dx starts G's backward
        dA_D[-1][...] = d_fake
        backward(D, dA_D, mask_D)
        xp.matmul(dA_D[0], D.W[0].T, out=g.dA[-1])         # dx = dA[0] W[0]^T       (B, d)

        # 3. G's backward, writing dW, db (no dz)
        for l in range(G.L - 1, -1, -1):
            xp.matmul(Hg[l].T, g.dA[l], out=G.dW[l])                             # H^T dA
            g.dA[l].sum(axis=0, out=G.db[l])
            if l > 0:
                xp.matmul(g.dA[l], G.W[l].T, out=g.dA[l - 1])                    # dH = dA W^T
                g.dA[l - 1] *= g.mask[l - 1]                                     # dA = dH s'(A)
        return {"gen_loss": loss}
