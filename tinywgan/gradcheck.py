r"""Gradient checking: the answer key for every hand-derived backward in tinywgan.

Centred finite differences of a scalar function f of an array x, one coordinate at a time:

    df/dx_i ~ [8 (f(x + h e_i) - f(x - h e_i)) - (f(x + 2h e_i) - f(x - 2h e_i))] / (12 h)

the fourth-order centred stencil (error O(h^4), against O(h^2) for the two-point
(f(x+h) - f(x-h)) / 2h, which ``order=2`` gives). The relative error is CS231n's:

    rel_error(a, b) = max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)

What to expect in float64: 1e-12..1e-8 for a correct backward; 1e-2..1 for a wrong one.
The difference quotient itself carries round-off, about eps |f| / h ~ 1e-13 |f| at h = 1e-3,
so a coordinate whose true gradient is that small (a bias that cancels out of the loss) cannot
be resolved at CS231n's floor of 1e-8: the network checks measure the differences' resolution
(``numerical_gradient(..., return_noise=True)``, comparing h with h/2) and compare such
coordinates at that resolution. Float32 is too coarse for any of this: check
in float64.

ReLU-family networks are piecewise linear: a difference that steps over a kink (a
pre-activation within about h of 0) is meaningless, so checks of those keep away from kinks
(``min_abs_preactivation``).

Each ``check_*`` returns a row ``{"what", "error", "tol", "ok"}``; ``run_all`` returns them all and
``python -m tinywgan gradcheck`` prints them as a table.
"""
import numpy as np

from . import backend
from .layers import (ACTIVATIONS, activation_backward, activation_forward,
                     activation_input_grad, activation_input_grad_backward, get_activation,
                     linear_backward, linear_forward, linear_input_grad,
                     linear_input_grad_backward)
from .losses import (gan_discriminator_loss, gan_generator_loss, wasserstein_critic_loss,
                     wasserstein_generator_loss)
from .mlp import MLP

TOL = 1e-6          # float64, away from kinks
NOISE_MARGIN = 10   # how far the measured resolution of the differences is trusted


def rel_error(a, b, floor=1e-8):
    """CS231n's relative error: max_i |a_i - b_i| / max(floor, |a_i| + |b_i|), floor 1e-8
    (a host float). ``floor`` may be an array, one per coordinate."""
    a = backend.to_numpy(a).astype(np.float64)
    b = backend.to_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError("rel_error: shapes differ, %s against %s" % (a.shape, b.shape))
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b)), initial=0.0))


_STENCILS = {2: ((1, 0.5), (-1, -0.5)),                                 # (offset/h, weight)
             4: ((1, 8 / 12), (-1, -8 / 12), (2, -1 / 12), (-2, 1 / 12))}


def numerical_gradient(f, x, h=1e-3, order=4, return_noise=False):
    """Centred finite-difference gradient of a scalar function f() w.r.t. the array x.

    f takes no arguments and reads x (perturbed in place, then restored). x: any shape,
    contiguous (views of a model's parameter buffer are). Returns the gradient D(h), an array
    like x (host NumPy). With ``return_noise`` it also returns |D(h) - D(h/2)| per coordinate,
    an estimate of what the differences cannot resolve: |D(h) - D(h/2)| (truncation and
    round-off, measured; this doubles the cost) plus eps max|f| / h (one evaluation's round-off).
    """
    if order not in _STENCILS:
        raise ValueError("order must be 2 or 4, got %r" % (order,))
    flat = x.reshape(-1)
    grad, noise = np.zeros(flat.shape[0]), np.zeros(flat.shape[0])

    def difference(i, old, step):
        """(D(step), max_k |f(x + k step e_i)|)."""
        total, fmax = 0.0, 0.0
        for k, w in _STENCILS[order]:
            flat[i] = old + k * step
            fk = float(f())
            total += w * fk
            fmax = max(fmax, abs(fk))
        return total / step, fmax

    for i in range(flat.shape[0]):
        old = float(flat[i])
        grad[i], fmax = difference(i, old, h)
        if return_noise:
            # measured (h against h/2) plus the round-off of one evaluation, eps |f| / h
            noise[i] = abs(grad[i] - difference(i, old, h / 2)[0]) \
                + np.finfo(np.float64).eps * fmax / h
        flat[i] = old
    if return_noise:
        return grad.reshape(x.shape), noise.reshape(x.shape)
    return grad.reshape(x.shape)


def _row(what, analytic, numeric, tol=TOL):
    """A check's row. ``numeric`` is a gradient, or (gradient, resolution) from
    ``numerical_gradient(..., return_noise=True)``: then a coordinate whose true gradient is
    below the differences' resolution (|a_i| + |b_i| < 10 noise_i / tol, e.g. a bias that
    cancels out of the loss exactly) is compared at that resolution rather than at CS231n's 1e-8.
    The factor 10 is the safety margin on an estimate of the resolution, not on the gradient."""
    floor = 1e-8
    if isinstance(numeric, tuple):
        numeric, noise = numeric
        floor = np.maximum(floor, NOISE_MARGIN * noise / tol)
    err = rel_error(analytic, numeric, floor)
    return {"what": what, "error": err, "tol": tol, "ok": bool(err < tol)}


def check_close(what, analytic, numeric, tol=TOL):
    """Assert-style check with a labelled message (for exercises and tests)."""
    row = _row(what, analytic, numeric, tol)
    if not row["ok"]:
        raise AssertionError("%s: relative error %.3g exceeds tolerance %.1g"
                             % (what, row["error"], tol))
    return row


def min_abs_preactivation(mlp, x):
    """Smallest |A[l]| over the hidden pre-activations at x: the distance to the nearest kink."""
    _, caches = mlp.forward(x)
    hidden = [c[1][0] for c in caches if c[1] is not None]
    if not hidden:
        return np.inf
    return min(float(abs(backend.to_numpy(a)).min()) for a in hidden)


# ------------------------------------------------------------------------------------------------
# Layers and activations
# ------------------------------------------------------------------------------------------------

def check_activation(act, seed=0, n=50):
    """s' against differences of s, s'' against differences of s' (elementwise, so one
    perturbation of the whole array at once is exact). Returns two rows."""
    act = get_activation(act)
    a = np.random.default_rng(seed).uniform(-3, 3, size=n)
    a = a[np.abs(a) > 0.1]                     # away from ReLU kinks
    h = 1e-4
    num_d1 = (8 * (act.f(a + h) - act.f(a - h)) - (act.f(a + 2 * h) - act.f(a - 2 * h))) / (12 * h)
    num_d2 = (8 * (act.df(a + h) - act.df(a - h)) - (act.df(a + 2 * h) - act.df(a - 2 * h))) \
        / (12 * h)
    return [_row("%s: s' vs diff of s" % act, act.df(a), num_d1),
            _row("%s: s'' vs diff of s'" % act, act.d2f(a), num_d2)]


def check_linear(seed=0, N=4, D=5, M=3):
    """linear_backward's dx, dW, db against differences of sum(dout * (x W + b))."""
    g = np.random.default_rng(seed)
    x, W, b, dout = g.normal(size=(N, D)), g.normal(size=(D, M)), g.normal(size=M), \
        g.normal(size=(N, M))

    def f():
        return (linear_forward(x, W, b)[0] * dout).sum()
    dx, dW, db = linear_backward(dout, linear_forward(x, W, b)[1])
    return [_row("linear: dx", dx, numerical_gradient(f, x)),
            _row("linear: dW", dW, numerical_gradient(f, W)),
            _row("linear: db", db, numerical_gradient(f, b))]


def check_activation_layer(act, seed=0, N=4, M=5):
    """activation_backward and both double-backward pieces of G = P * s'(a)."""
    act = get_activation(act)
    g = np.random.default_rng(seed)
    a = g.uniform(0.2, 2.0, size=(N, M)) * g.choice([-1, 1], size=(N, M))
    P, dh, Gbar = g.normal(size=(N, M)), g.normal(size=(N, M)), g.normal(size=(N, M))

    def f_h():
        return (activation_forward(a, act)[0] * dh).sum()

    def f_G():
        return (activation_input_grad(P, a, act) * Gbar).sum()
    Pbar, Abar = activation_input_grad_backward(Gbar, P, a, act)
    if Abar is None:
        Abar = np.zeros_like(a)
    return [_row("%s layer: da" % act, activation_backward(dh, (a, act)),
                 numerical_gradient(f_h, a)),
            _row("%s layer, double backward: Pbar" % act, Pbar, numerical_gradient(f_G, P)),
            _row("%s layer, double backward: Abar (s'' injection)" % act, Abar,
                 numerical_gradient(f_G, a))]


def check_linear_double_backward(seed=0, N=4, D=5, M=3):
    """linear_input_grad_backward: Gbar and Wbar of P = G W^T."""
    g = np.random.default_rng(seed)
    G, W, Pbar = g.normal(size=(N, M)), g.normal(size=(D, M)), g.normal(size=(N, D))

    def f():
        return (linear_input_grad(G, W) * Pbar).sum()
    Gbar, Wbar = linear_input_grad_backward(Pbar, G, W)
    return [_row("linear, double backward: Gbar", Gbar, numerical_gradient(f, G)),
            _row("linear, double backward: Wbar", Wbar, numerical_gradient(f, W))]


# ------------------------------------------------------------------------------------------------
# Networks
# ------------------------------------------------------------------------------------------------

def _inputs(widths, N, seed, scale=1.0):
    return np.random.default_rng(seed).normal(scale=scale, size=(N, widths[0]))


def _net_row(what, net, x, analytic, f, wrt):
    """A row for a network check; ReLU-family rows also carry the distance of the nearest
    pre-activation from its kink (a check is only meaningful when that exceeds h)."""
    row = _row(what, analytic, _numgrad(net, f, wrt))
    if not net.act.second_order:
        row["kink_margin"] = min_abs_preactivation(net, x)
    return row


def _numgrad(net, f, x):
    """Differences suited to the network: the fourth-order stencil (h = 1e-3) for smooth
    activations; for the piecewise-linear ReLU family, where the difference is exact between
    kinks, the two-point one with h = 1e-6 so that it does not step over one."""
    if net.act.second_order:
        return numerical_gradient(f, x, h=1e-3, order=4, return_noise=True)
    return numerical_gradient(f, x, h=1e-6, order=2, return_noise=True)


def check_mlp_backward(act="tanh", widths=(2, 6, 5, 1), N=5, seed=0, scale=1.0):
    """MLP.backward's parameter gradients and dx against differences of sum(dout * f(x))."""
    net = MLP(widths, act, dtype="float64", seed=seed)
    x = _inputs(widths, N, seed + 1, scale)
    dout = np.random.default_rng(seed + 2).normal(size=(N, widths[-1]))

    def f():
        return (net(x) * dout).sum()
    net.zero_grad()
    out, cache = net.forward(x)
    dx = net.backward(dout, cache)
    return [_net_row("MLP %s: backward dparams" % net.act, net, x, net.grads, f, net.params),
            _net_row("MLP %s: backward dx" % net.act, net, x, dx, f, x)]


def check_input_gradient(act="tanh", widths=(3, 6, 5, 1), N=5, seed=0, scale=1.0):
    """MLP.input_gradient against differences of sum_i f(x_i) w.r.t. x."""
    net = MLP(widths, act, dtype="float64", seed=seed)
    x = _inputs(widths, N, seed + 1, scale)
    return _net_row("MLP %s: input gradient" % net.act, net, x, net.input_gradient(x),
                    lambda: net(x).sum(), x)


def check_penalty(act="tanh", widths=(2, 6, 5, 1), N=5, lam=10.0, one_sided=False, seed=0,
                  scale=1.0):
    """The gradient penalty's weight and bias gradients (the double backward).

    The one-sided penalty is zero for rows with ||g_i|| <= target; its check puts the target in
    the middle of the widest gap between the rows' norms, so that both branches are exercised
    and no row sits on the branch point (where max(0, t)^2 is only once differentiable).
    """
    net = MLP(widths, act, dtype="float64", seed=seed)
    x = _inputs(widths, N, seed + 1, scale)
    target = 1.0
    if one_sided:
        g = net.input_gradient(x)
        norms = np.sort(np.sqrt((g * g).sum(axis=1)))
        gaps = np.diff(norms)
        i = int(np.argmax(gaps)) if gaps.size else 0
        target = float(0.5 * (norms[i] + norms[i + 1]) if gaps.size and gaps[i] > 0
                       else 0.5 * norms[0])

    def f():
        return net.gradient_penalty(x, lam, target, one_sided)[0]
    net.zero_grad()
    f()
    analytic = net.grads.copy()
    return _net_row("penalty%s %s: dparams" % (" (one-sided)" if one_sided else "", net.act),
                    net, x, analytic, f, net.params)


def critic_loss_and_grads(net, x_real, x_fake, x_hat, lam):
    """The full WGAN-GP critic loss, mean f(fake) - mean f(real) + penalty, with its gradient
    left in net.grads (zeroed first). Returns the loss (host float)."""
    net.zero_grad()
    f_real, c_real = net.forward(x_real)
    f_fake, c_fake = net.forward(x_fake)
    loss, d_real, d_fake = wasserstein_critic_loss(f_real, f_fake)
    net.backward(d_real, c_real)
    net.backward(d_fake, c_fake)
    R, _ = net.gradient_penalty(x_hat, lam)
    net.spectral_backward()
    return float(loss + R)


def check_wgan_gp_critic(act="softplus", widths=(2, 6, 5, 1), N=6, lam=10.0, seed=0):
    """The WGAN-GP critic loss checked as one function of all parameters."""
    net = MLP(widths, act, dtype="float64", seed=seed)
    g = np.random.default_rng(seed + 1)
    x_real, x_fake = g.normal(size=(N, widths[0])), g.normal(size=(N, widths[0])) + 1
    eps = g.random((N, 1))
    x_hat = eps * x_real + (1 - eps) * x_fake
    critic_loss_and_grads(net, x_real, x_fake, x_hat, lam)
    analytic = net.grads.copy()
    return _row("WGAN-GP critic loss %s: dparams" % net.act, analytic, _numgrad(
        net, lambda: critic_loss_and_grads(net, x_real, x_fake, x_hat, lam), net.params))


def generator_loss_and_grads(gen, critic, z, loss="wasserstein"):
    """Generator loss through a fixed critic; gen.grads filled (zeroed first), critic's untouched.
    loss: 'wasserstein', 'minimax' or 'nonsaturating'. Returns the loss (host float)."""
    gen.zero_grad()
    x_fake, g_cache = gen.forward(z)
    f_fake, c_cache = critic.forward(x_fake)
    if loss == "wasserstein":
        value, d_fake = wasserstein_generator_loss(f_fake)
    else:
        value, d_fake = gan_generator_loss(f_fake, loss)
    dx_fake = critic.backward(d_fake, c_cache, param_grads=False)
    gen.backward(dx_fake, g_cache)
    return float(value)


def check_generator(act="tanh", loss="wasserstein", seed=0, N=5):
    """The generator's weight gradients, end to end through a critic."""
    gen = MLP((2, 6, 5, 2), act, dtype="float64", seed=seed)
    critic = MLP((2, 7, 1), act, dtype="float64", seed=seed + 1)
    z = _inputs((2,), N, seed + 2)
    generator_loss_and_grads(gen, critic, z, loss)
    analytic = gen.grads.copy()
    return _row("generator (%s loss, %s) through critic: dparams" % (loss, gen.act), analytic,
                _numgrad(gen, lambda: generator_loss_and_grads(gen, critic, z, loss), gen.params))


def check_spectral_norm(act="tanh", widths=(2, 6, 5, 1), N=6, lam=1.0, seed=0):
    """Spectral normalisation's backward (u, v held fixed) inside the full WGAN-GP critic loss."""
    net = MLP(widths, act, spectral_norm=True, dtype="float64", seed=seed)
    g = np.random.default_rng(seed + 1)
    x_real, x_fake = g.normal(size=(N, widths[0])), g.normal(size=(N, widths[0])) + 1
    x_hat = 0.5 * (x_real + x_fake)

    def f():
        net.spectral_normalise(power_iteration=False)
        return critic_loss_and_grads(net, x_real, x_fake, x_hat, lam)
    f()
    analytic = net.grads.copy()
    return _row("spectral norm %s: dparams (u, v fixed)" % net.act, analytic,
                _numgrad(net, f, net.params))


def check_gan_losses(seed=0, N=5):
    """The vanilla GAN losses' gradients w.r.t. the logits."""
    g = np.random.default_rng(seed)
    lr, lf = g.normal(scale=3, size=(N, 1)), g.normal(scale=3, size=(N, 1))
    _, d_real, d_fake = gan_discriminator_loss(lr, lf)
    rows = [_row("GAN discriminator loss: dlogit_real", d_real,
                 numerical_gradient(lambda: gan_discriminator_loss(lr, lf)[0], lr)),
            _row("GAN discriminator loss: dlogit_fake", d_fake,
                 numerical_gradient(lambda: gan_discriminator_loss(lr, lf)[0], lf))]
    for kind in ("minimax", "nonsaturating"):
        rows.append(_row("GAN generator loss (%s): dlogit" % kind, gan_generator_loss(lf, kind)[1],
                         numerical_gradient(lambda: gan_generator_loss(lf, kind)[0], lf)))
    return rows


def run_all(seed=0):
    """Every check, float64. Returns a list of rows."""
    rows = []
    for name in sorted(ACTIVATIONS):
        rows += check_activation(name, seed)
    rows += check_linear(seed)
    rows += check_linear_double_backward(seed)
    for name in sorted(ACTIVATIONS):
        rows += check_activation_layer(name, seed)
    for name in sorted(ACTIVATIONS):
        rows += check_mlp_backward(name, seed=seed)
        rows.append(check_input_gradient(name, seed=seed))
        rows.append(check_penalty(name, seed=seed))
    rows.append(check_penalty("tanh", one_sided=True, seed=seed))
    rows.append(check_penalty("relu", one_sided=True, seed=seed))
    rows.append(check_wgan_gp_critic("softplus", seed=seed))
    rows.append(check_wgan_gp_critic("silu", seed=seed))
    for loss in ("wasserstein", "minimax", "nonsaturating"):
        rows.append(check_generator("tanh", loss, seed=seed))
    rows.append(check_spectral_norm("tanh", seed=seed))
    rows += check_gan_losses(seed)
    return rows


def format_table(rows):
    """The rows as a fixed-width table: what, max relative error, tolerance, pass/fail."""
    width = max(len(r["what"]) for r in rows)
    lines = ["%-*s  %10s  %8s  %s" % (width, "what", "rel error", "tol", "result")]
    for r in rows:
        lines.append("%-*s  %10.2e  %8.0e  %s" % (width, r["what"], r["error"], r["tol"],
                                                  "pass" if r["ok"] else "FAIL"))
    return "\n".join(lines)
