r"""The fused steps: a second implementation of ``tinywgan.steps`` (``generate``,
``critic_grads``, ``generator_grads``: the same signatures, the same numbers, the same random
inputs), in fewer, larger products on buffers allocated once.

Read ``tinywgan/steps.py`` and ``tinywgan/penalty.py`` first: they are the derivation. This
module computes exactly their numbers (``tests/test_fast.py``: to 1e-12 in float64; the products
only sum in another order), and ``python -m tinywgan gradcheck`` checks it against finite
differences too. ``train.Trainer`` chooses between the two in one place (``Trainer.__init__``).

When it applies (``applies``): a method of ``FUSED_METHODS`` (spectral norm keeps the plain
steps), networks whose activation is piecewise linear (ReLU, leaky ReLU). Two identities then
do the work:

    s(a) = a * s'(a)             the forward computes the mask s'(A[l]) once, H[l+1] = A[l] mask[l]
    s''(a) = 0                   the penalty's second-order path is empty (penalty.py, step 4)

**One critic step stacks the inputs as rows** of one matrix, ``X = H[0]: (R, d)``, in three
named row blocks: ``REAL`` = x_real, ``FAKE`` = x_fake, ``INTERP`` = x_hat (R = 3B; without a
penalty R = 2B and there is no INTERP block). Then, one product per layer over all R rows each:

1. Forward: ``A[l] = H[l] W[l] + b[l]``, ``mask[l] = s'(A[l])``, ``H[l+1] = A[l] mask[l]``.
   (Plain: three ``D.forward`` calls.)
2. Backward, seeded with ``dA[L-1] = [dL/df_real; dL/df_fake; 1]``, then
   ``dA[l-1] = (dA[l] W[l]^T) mask[l-1]``. On the REAL and FAKE rows this is the loss's
   backward (``MLP.backward``); on the INTERP rows, seeded with 1, it is the penalty's first
   backward, dA = gA = df/dA (``MLP.input_gradient_pass``): the same recurrence, so one product
   serves both. The input gradient is ``g = gA[0] W[0]^T`` on the INTERP rows only.
3. Penalty: ``penalty.penalty_head`` (shared with the plain path) gives R and gH_bar[0]; the
   reverse pass ``gH_bar[l+1] = (gH_bar[l] W[l]) mask[l]`` runs on the INTERP rows, writing
   gH_bar[l] over the INTERP rows of H[l], which nothing needs any more.
4. Weight gradients, ONE product per layer over all rows:

       dW[l] = H[l]^T dA[l] = H_real^T dA_real + H_fake^T dA_fake      (the loss, MLP.backward)
                              + gH_bar[l]^T gA[l]                      (penalty, W_bar)

   ``db[l] = sum of dA[l] over the REAL and FAKE rows`` (with s'' = 0 the penalty adds nothing
   to the biases). The products write straight into the gradient buffer (``out=``): each step
   *sets* every gradient.

**One generator step**: G's forward with masks (B rows), D's forward on G(z), D's backward to its
input only (no parameter gradients), G's backward writing dW, db (no dz). ``generate`` is G's
forward without masks (ReLU in place), for the critic step's x_fake.

Per critic step and hidden-to-hidden layer this is, in units of one (B x W)(W x W) product:
forward 3, backward 3, weight gradient 3, penalty reverse 1, plus 1 for ``generate``: 11, as
the plain steps need (``bench.matmul_count``), in products 3x as tall.
"""
from .backend import get_array_module
from .layers import LeakyReLU, ReLU
from .losses import (gan_discriminator_loss, gan_generator_loss, wasserstein_critic_loss,
                     wasserstein_generator_loss)
from .penalty import penalty_head
from .steps import INTERPOLATING, interpolates

#: The methods the fused steps compute (spectral norm, 'wgan-sn', keeps the plain steps).
FUSED_METHODS = ("wgan-gp", "wgan-lp", "wgan", "gan")


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


# ------------------------------------------------------------------------------------------------
# The steps
# ------------------------------------------------------------------------------------------------

class FusedSteps:
    """``generate``, ``critic_grads`` and ``generator_grads`` of ``tinywgan.steps``, fused.

    Holds the buffers (``Buffers``), made on first use for each network and row count.
    An array returned by ``generate`` is one of them: valid until the next call.
    """

    def __init__(self):
        self._buffers = {}

    def buffers(self, role, net, rows):
        """The Buffers of ``role`` ('critic', 'generator', 'critic-of-generator') for ``net``."""
        key = (role, tuple(net.widths), rows, str(net.dtype), net.xp.__name__)
        if key not in self._buffers:
            self._buffers[key] = Buffers(net, rows)
        return self._buffers[key]

    def _check(self, method, *nets):
        if not applies(method, *nets):
            raise ValueError("the fused steps compute %s for ReLU-family networks without "
                             "spectral norm; got method %r and %s: use tinywgan.steps"
                             % (FUSED_METHODS, method, ", ".join(map(repr, nets))))

    def generate(self, G, z):
        """x_fake = G(z) into a buffer. Inputs: z: (B, latent). Returns x_fake: (B, d)."""
        buf = self.buffers("generator", G, z.shape[0])
        return forward(G, [z] + buf.H[1:], buf.mask if _slope(G.act) else None, buf.out)

    def critic_grads(self, D, x_real, x_fake, eps=None, method="wgan-gp", lam=1.0):
        """``steps.critic_grads``, fused (module docstring, steps 1-4)."""
        self._check(method, D)
        xp, B, L = D.xp, x_real.shape[0], D.L
        penalised = method in INTERPOLATING
        buf = self.buffers("critic", D, 3 * B if penalised else 2 * B)
        H, mask, dA, f = buf.H, buf.mask, buf.dA, buf.out
        REAL, FAKE, INTERP = _blocks(B)
        LOSS = slice(0, 2 * B)                                 # the rows of the loss term
        X = H[0]                                                                  # (R, d)
        X[REAL] = x_real
        X[FAKE] = x_fake
        if penalised:
            X[INTERP] = interpolates(x_real, x_fake, eps)      # eps x + (1 - eps) x_fake

        # 1. the forward on all rows at once, keeping the masks
        forward(D, H, mask, f)                                                    # (R, 1)
        loss_of = gan_discriminator_loss if method == "gan" else wasserstein_critic_loss
        loss, d_real, d_fake = loss_of(f[REAL], f[FAKE])
        out = {"w_estimate": f[REAL].mean() - f[FAKE].mean()}

        # 2. one backward over all rows: the loss's dA (REAL, FAKE), the penalty's gA (INTERP)
        dA[L - 1][REAL] = d_real
        dA[L - 1][FAKE] = d_fake
        if penalised:
            dA[L - 1][INTERP] = 1                                                 # gA[L-1] = 1
        backward(D, dA, mask)

        # 3. the penalty, on the INTERP rows only: its head, then the reverse pass
        if penalised:
            grad_x = dA[0][INTERP] @ D.W[0].T                  # g = gH[0] = gA[0] W[0]^T (B, d)
            R, norms, gH_bar0 = penalty_head(grad_x, lam, 1.0, method == "wgan-lp")
            X[INTERP] = gH_bar0                 # the INTERP rows of H[0] now hold gH_bar[0]
            for l in range(L - 1):                     # gH_bar[l+1] = (gH_bar[l] W[l]) s'(A[l])
                gH_bar = H[l + 1][INTERP]
                xp.matmul(H[l][INTERP], D.W[l], out=gH_bar)           # gA_bar[l] = gH_bar W
                gH_bar *= mask[l][INTERP]
            loss = loss + R
            out.update(penalty=R, grad_norm=norms.mean())

        # 4. weight gradients: one product per layer over the stacked rows
        for l in range(L):
            xp.matmul(H[l].T, dA[l], out=D.dW[l])      # H^T dA (REAL, FAKE) + gH_bar^T gA (INTERP)
            dA[l][LOSS].sum(axis=0, out=D.db[l])       # sum_rows dA (REAL, FAKE)
        out["critic_loss"] = loss
        return out

    def generator_grads(self, G, D, z, method="wgan-gp", gan_loss="nonsaturating"):
        """``steps.generator_grads``, fused (module docstring)."""
        self._check(method, G, D)
        xp, B = G.xp, z.shape[0]
        g, d = self.buffers("generator", G, B), self.buffers("critic-of-generator", D, B)

        # 1. forward through G (masks kept) and D
        Hg = [z] + g.H[1:]
        forward(G, Hg, g.mask, g.out)                                             # (B, d)
        forward(D, [g.out] + d.H[1:], d.mask, d.out)                              # (B, 1)
        if method == "gan":
            loss, d_fake = gan_generator_loss(d.out, gan_loss)
        else:
            loss, d_fake = wasserstein_generator_loss(d.out)

        # 2. D's backward to its input only; its dx starts G's backward
        d.dA[-1][...] = d_fake
        backward(D, d.dA, d.mask)
        xp.matmul(d.dA[0], D.W[0].T, out=g.dA[-1])        # dx = dA[0] W[0]^T       (B, d)

        # 3. G's backward, writing dW, db (no dz)
        for l in range(G.L - 1, -1, -1):
            xp.matmul(Hg[l].T, g.dA[l], out=G.dW[l])                             # H^T dA
            g.dA[l].sum(axis=0, out=G.db[l])
            if l > 0:
                xp.matmul(g.dA[l], G.W[l].T, out=g.dA[l - 1])                    # dH = dA W^T
                g.dA[l - 1] *= g.mask[l - 1]                                     # dA = dH s'(A)
        return {"gen_loss": loss}
