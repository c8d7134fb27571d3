r"""Gradient checking: the answer key for every hand-derived backward in tinywgan, down to the
steps that train (``tinywgan.core.steps`` and the fused ``tinywgan.fast``).

Each ``check_*`` builds a small float64 case, runs the library's own function, and compares its
gradient with centred finite differences (``tinywgan.measure.finitediff``: the stencils, CS231n's
relative error, the differences' resolution). What to expect: 1e-12..1e-8 for a correct
backward, 1e-2..1 for a wrong one, against a tolerance of 1e-6.

ReLU-family networks are piecewise linear: a difference that steps over a kink (a
pre-activation within about h of 0) is meaningless, so their rows carry the distance of the
nearest pre-activation from its kink (``kink_margin``, from ``min_abs_preactivation``).

Each ``check_*`` returns a row ``{"what", "error", "tol", "ok"}``; ``run_all`` returns them all and
``python -m tinywgan gradcheck`` prints them as a table (``finitediff.format_table``).
"""
import numpy as np

from .. import backend, fast
from ..core import steps
from .finitediff import compare, elementwise_derivative, numerical_gradient
from ..core.mlp import (ACTIVATIONS, MLP, activation_backward, activation_forward,
                        activation_input_grad_backward, get_activation, linear_backward,
                        linear_forward, linear_input_grad, linear_input_grad_backward)
from ..core.steps import GAN_LOSSES, gan_discriminator_loss, gan_generator_loss


def min_abs_preactivation(mlp, *xs):
    """Smallest |A[l]| over the hidden pre-activations at the rows of every x: the distance to
    the nearest kink."""
    margins = [np.inf]
    for x in xs:
        hidden = mlp.forward(x)[1].A[:-1]                     # A[l], l < L-1: (N, d_{l+1})
        margins += [float(abs(backend.to_numpy(a)).min()) for a in hidden]
    return min(margins)


# ------------------------------------------------------------------------------------------------
# Layers and activations
# ------------------------------------------------------------------------------------------------

def check_activation(act, seed=0, n=50):
    """s' against differences of s, s'' against differences of s' (the fourth-order stencil;
    elementwise, so one perturbation of the whole array at once is exact). Returns two rows."""
    act = get_activation(act)
    a = np.random.default_rng(seed).uniform(-3, 3, size=n)
    a = a[np.abs(a) > 0.1]                     # away from ReLU kinks
    h = 1e-4
    return [compare("%s: s' vs diff of s" % act, act.df(a), elementwise_derivative(act.f, a, h)),
            compare("%s: s'' vs diff of s'" % act, act.d2f(a),
                    elementwise_derivative(act.df, a, h))]


def check_linear(seed=0, N=4, D=5, M=3):
    """linear_backward's dx, dW, db against differences of sum(dout * (x W + b))."""
    rng = np.random.default_rng(seed)
    x, W, b, dout = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M), \
        rng.normal(size=(N, M))

    def f():
        return (linear_forward(x, W, b)[0] * dout).sum()
    dx, dW, db = linear_backward(dout, linear_forward(x, W, b)[1])
    return [compare("linear: dx", dx, numerical_gradient(f, x)),
            compare("linear: dW", dW, numerical_gradient(f, W)),
            compare("linear: db", db, numerical_gradient(f, b))]


def check_activation_layer(act, seed=0, N=4, M=5):
    """activation_backward, and both pieces of its reverse (gA = gH * s'(a) in gH and in a)."""
    act = get_activation(act)
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.2, 2.0, size=(N, M)) * rng.choice([-1, 1], size=(N, M))
    gH, dh, gA_bar = rng.normal(size=(N, M)), rng.normal(size=(N, M)), rng.normal(size=(N, M))

    def f_h():
        return (activation_forward(a, act)[0] * dh).sum()

    def f_gA():
        return (activation_backward(gH, (a, act)) * gA_bar).sum()         # gA = gH * s'(a)
    gH_bar, A_bar = activation_input_grad_backward(gA_bar, gH, a, act)
    if A_bar is None:
        A_bar = np.zeros_like(a)
    return [compare("%s layer: da" % act, activation_backward(dh, (a, act)),
                 numerical_gradient(f_h, a)),
            compare("%s layer, double backward: gH_bar" % act, gH_bar,
                    numerical_gradient(f_gA, gH)),
            compare("%s layer, double backward: A_bar (s'' injection)" % act, A_bar,
                 numerical_gradient(f_gA, a))]


def check_linear_double_backward(seed=0, N=4, D=5, M=3):
    """linear_input_grad_backward: gA_bar and W_bar of gH = gA W^T."""
    rng = np.random.default_rng(seed)
    gA, W, gH_bar = rng.normal(size=(N, M)), rng.normal(size=(D, M)), rng.normal(size=(N, D))

    def f():
        return (linear_input_grad(gA, W) * gH_bar).sum()
    gA_bar, W_bar = linear_input_grad_backward(gH_bar, gA, W)
    return [compare("linear, double backward: gA_bar", gA_bar, numerical_gradient(f, gA)),
            compare("linear, double backward: W_bar", W_bar, numerical_gradient(f, W))]


# ------------------------------------------------------------------------------------------------
# Networks
# ------------------------------------------------------------------------------------------------

def _inputs(widths, N, seed, scale=1.0):
    return np.random.default_rng(seed).normal(scale=scale, size=(N, widths[0]))


def _net_row(what, net, xs, analytic, f, wrt):
    """A row for a network check; ReLU-family rows also carry the distance of the nearest
    pre-activation from its kink, over the inputs ``xs`` of ``net`` (a check is only
    meaningful when that exceeds h)."""
    row = compare(what, analytic, _numgrad(net, f, wrt))
    if not net.act.second_order:
        row["kink_margin"] = min_abs_preactivation(net, *xs)
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
    return [_net_row("MLP %s: backward dparams" % net.act, net, [x], net.grads, f, net.params),
            _net_row("MLP %s: backward dx" % net.act, net, [x], dx, f, x)]


def check_input_gradient(act="tanh", widths=(3, 6, 5, 1), N=5, seed=0, scale=1.0):
    """MLP.input_gradient against differences of sum_i f(x_i) w.r.t. x."""
    net = MLP(widths, act, dtype="float64", seed=seed)
    x = _inputs(widths, N, seed + 1, scale)
    return _net_row("MLP %s: input gradient" % net.act, net, [x], net.input_gradient(x),
                    lambda: net(x).sum(), x)


def one_sided_target(norms):
    """A target for checking the one-sided penalty max(0, ||g_i|| - target)^2 at rows whose
    norms are ``norms`` (N,): the geometric middle of the widest ratio gap between neighbouring
    norms, so both branches are exercised and every row keeps clear of the branch point (where
    the penalty is only once differentiable and a difference stepping over it is wrong). With no
    gap of at least 1.5x, half the smallest norm: every row on the active branch."""
    n = np.sort(np.asarray(norms, dtype=np.float64))
    n = n[n > 0]
    if n.size == 0:
        return 1.0                                     # f is flat: nothing is penalised
    ratios = n[1:] / n[:-1]
    if ratios.size and ratios.max() >= 1.5:
        i = int(np.argmax(ratios))
        return float(np.sqrt(n[i] * n[i + 1]))
    return float(0.5 * n[0])


def check_penalty(act="tanh", widths=(2, 6, 5, 1), N=5, lam=10.0, one_sided=False, seed=0,
                  scale=1.0, target=1.0):
    """The gradient penalty's weight and bias gradients (the double backward). target 1 is
    WGAN-GP's, 0 the zero-centred R1/R2's; the one-sided penalty is checked at
    ``one_sided_target`` of the rows' norms instead."""
    net = MLP(widths, act, dtype="float64", seed=seed)
    x = _inputs(widths, N, seed + 1, scale)
    if one_sided:
        target = one_sided_target(np.sqrt((net.input_gradient(x) ** 2).sum(axis=1)))

    def f():
        return net.gradient_penalty(x, lam, target, one_sided)[0]
    net.zero_grad()
    f()
    analytic = net.grads.copy()
    kind = " (one-sided)" if one_sided else " (zero-centred: R1, R2)" if target == 0 else ""
    return _net_row("penalty%s %s: dparams" % (kind, net.act), net, [x], analytic, f,
                    net.params)


# ------------------------------------------------------------------------------------------------
# The training steps themselves (tinywgan.core.steps, and the fused tinywgan.fast)
# ------------------------------------------------------------------------------------------------

def _implementation(fused):
    return fast.FusedSteps() if fused else steps


def _random_biases(rng, *nets):
    """Biases drawn from N(0, 0.5^2) instead of the initial zeros: a check that also exercises
    the biases, and no exact zeros (a dead ReLU layer's output would sit on the next kink)."""
    for net in nets:
        for b in net.b:
            b[...] = rng.normal(scale=0.5, size=b.shape)


def check_critic_step(method="wgan-gp", act="tanh", widths=(2, 6, 5, 1), N=6, lam=10.0,
                      seed=0, fused=False, r1=0.0, r2=0.0):
    """``steps.critic_grads`` (or the fused one), the function that trains, as one function of
    all the critic's parameters: its whole loss (penalties, R1 and R2 included) against D.grads.

    For wgan-lp the last layer is scaled so that the norms ||grad_x f(x_hat_i)|| have
    ``one_sided_target`` 1 (f is linear in W[L-1], so its input gradient scales with it): both
    branches of the one-sided penalty are exercised, no row near the branch point.
    Under spectral norm
    u, v are advanced once and then held fixed, as within one training step.
    """
    D = MLP(widths, act, spectral_norm=(method == "wgan-sn"), dtype="float64", seed=seed)
    rng = np.random.default_rng(seed + 1)
    _random_biases(rng, D)
    x_real = rng.normal(size=(N, widths[0]))
    x_fake = rng.normal(size=(N, widths[0])) + 1
    eps = rng.random((N, 1))
    x_hat = steps.interpolates(x_real, x_fake, eps)
    if method == "wgan-lp":
        D.W[-1][...] /= one_sided_target(np.sqrt((D.input_gradient(x_hat) ** 2).sum(axis=1)))
    D.power_iterate()
    impl = _implementation(fused)

    def f():
        return float(impl.critic_grads(D, x_real, x_fake, eps, method, lam, r1, r2)
                     ["critic_loss"])
    f()
    analytic = D.grads.copy()
    extra = "".join(" + %s %g" % (name, gamma) for name, gamma in (("R1", r1), ("R2", r2))
                    if gamma)
    return _net_row("critic step %s%s (%s%s): dparams" % (method, extra, D.act,
                                                          ", fused" if fused else ""),
                    D, [x_real, x_fake, x_hat], analytic, f, D.params)


def check_generator_step(loss="wasserstein", act="tanh", seed=0, N=5, fused=False,
                         noise=False):
    """``steps.generator_grads`` (or the fused one): the generator's weight gradient end to end
    through a fixed critic. loss: 'wasserstein' (every WGAN), a GAN loss (steps.GAN_LOSSES) or
    'rpgan' (paired with fixed real rows); noise: the critic sees G(z) plus fixed instance
    noise."""
    G = MLP((2, 6, 5, 2), act, dtype="float64", seed=seed)
    D = MLP((2, 7, 1), act, dtype="float64", seed=seed + 1)
    rng = np.random.default_rng(seed + 2)
    _random_biases(rng, G, D)
    z = rng.normal(size=(N, 2))
    added = rng.normal(scale=0.5, size=(N, 2)) if noise else None
    method, gan_loss = {"wasserstein": ("wgan-gp", GAN_LOSSES[0]),
                        "rpgan": ("rpgan", GAN_LOSSES[0])}.get(loss, ("gan", loss))
    x_real = rng.normal(size=(N, 2)) if method in steps.PAIRED else None
    impl = _implementation(fused)

    def f():
        return float(impl.generator_grads(G, D, z, method, gan_loss, added, x_real)
                     ["gen_loss"])
    f()
    analytic = G.grads.copy()
    row = compare("generator step (%s loss%s, %s%s): dparams"
                  % (loss, ", instance noise" if noise else "", G.act, ", fused" if fused else ""),
                  analytic, _numgrad(G, f, G.params))
    if not G.act.second_order:
        x_seen = G(z) if added is None else G(z) + added
        row["kink_margin"] = min(min_abs_preactivation(G, z), min_abs_preactivation(D, x_seen))
    return row


def check_gan_losses(seed=0, N=5):
    """The vanilla GAN losses' gradients w.r.t. the logits."""
    rng = np.random.default_rng(seed)
    logit_real, logit_fake = rng.normal(scale=3, size=(N, 1)), rng.normal(scale=3, size=(N, 1))

    def loss():
        return gan_discriminator_loss(logit_real, logit_fake)[0]
    _, d_real, d_fake = gan_discriminator_loss(logit_real, logit_fake)
    rows = [compare("GAN discriminator loss: dlogit_real", d_real,
                 numerical_gradient(loss, logit_real)),
            compare("GAN discriminator loss: dlogit_fake", d_fake,
                 numerical_gradient(loss, logit_fake))]
    for kind in GAN_LOSSES:
        rows.append(compare("GAN generator loss (%s): dlogit" % kind,
                         gan_generator_loss(logit_fake, kind)[1],
                         numerical_gradient(lambda: gan_generator_loss(logit_fake, kind)[0],
                                            logit_fake)))
    return rows


def run_all(seed=0):
    """Every check, float64: the pieces, the networks, then the steps that train, for every
    method and generator loss, plain and fused, and with R1 and R2. Returns a list of rows."""
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
        rows.append(check_penalty(name, seed=seed, target=0.0))
    rows.append(check_penalty("tanh", one_sided=True, seed=seed))
    rows.append(check_penalty("relu", one_sided=True, seed=seed))
    gs = dict(widths=(2, 6, 6, 1), seed=seed)              # GroupSort (groups of 2, even widths)
    rows += check_activation_layer("groupsort", seed, M=6)
    rows += check_mlp_backward("groupsort", **gs)
    rows.append(check_input_gradient("groupsort", **gs))
    rows.append(check_penalty("groupsort", **gs))
    rows.append(check_critic_step("wgan-gs", "groupsort", **gs))
    for method in steps.METHODS:
        rows.append(check_critic_step(method, "softplus", seed=seed))
        rows.append(check_critic_step(method, "relu", seed=seed))
    for method in fast.FUSED_METHODS:
        rows.append(check_critic_step(method, "relu", seed=seed, fused=True))
    for method in ("gan", "wgan-gp", "rpgan"):            # R1, R2 (Mescheder et al. 2018)
        for gammas in (dict(r1=10.0), dict(r2=10.0)):
            rows.append(check_critic_step(method, "softplus", seed=seed, **gammas))
            rows.append(check_critic_step(method, "relu", seed=seed, **gammas))
            rows.append(check_critic_step(method, "relu", seed=seed, fused=True, **gammas))
    for loss in ("wasserstein", "rpgan") + GAN_LOSSES:
        rows.append(check_generator_step(loss, "silu", seed=seed))
        rows.append(check_generator_step(loss, "relu", seed=seed))
        rows.append(check_generator_step(loss, "relu", seed=seed, fused=True))
    rows.append(check_generator_step("nonsaturating", "silu", seed=seed, noise=True))
    rows.append(check_generator_step("nonsaturating", "relu", seed=seed, fused=True, noise=True))
    rows += check_gan_losses(seed)
    return rows
