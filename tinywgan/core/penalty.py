r"""The gradient penalty and its exact weight gradient: reverse-mode differentiation of a
reverse-mode pass ("reverse over reverse"), derived here step by step, each step beside the
lines of ``gradient_penalty`` that compute it.

WGAN-GP (Gulrajani, Ahmed, Arjovsky, Dumoulin and Courville 2017, "Improved Training of
Wasserstein GANs") keeps the critic f close to 1-Lipschitz by penalising, at points x_hat
between real and generated samples, how far the norm of its input gradient is from 1:

    R = lam/N sum_i (||g_i|| - t)^2,     g_i = grad_x f(x_hat_i),  t = 1       (two-sided)
    R = lam/N sum_i max(0, ||g_i|| - t)^2                                       (one-sided,
        WGAN-LP: Petzka, Fischer and Lukovnikov 2018, "On the Regularization of Wasserstein GANs")

With t = 0 the same code gives the zero-centred penalties R1 and R2 of Mescheder, Geiger and
Nowozin 2018 ("Which Training Methods for GANs do actually Converge?"):
(gamma/2) E ||grad_x f||^2 is ``lam = gamma/2, target = 0``.

The critic's optimizer needs dR/dW and dR/db. R depends on the weights through g, and g is itself
the output of a backward pass, so we differentiate that backward pass once more.

Notation (``tinywgan.core.mlp``): H[0] = x, A[l] = H[l] W[l] + b[l], H[l+1] = s(A[l]), f = A[L-1],
l = 0..L-1, N rows. A bar is "the gradient of R with respect to": W_bar[l] = dR/dW[l].

**(1) The first backward: the input gradient.** The rows of f depend only on their own rows of
x, so one backward pass of sum_i f_i gives every g_i. Seed gA[L-1] = df/dA[L-1] = 1, then

    gH[l]   = gA[l] W[l]^T            (N, d_l)        gH[l] = df/dH[l]
    gA[l-1] = gH[l] * s'(A[l-1])      (N, d_l)        gA[l] = df/dA[l]

and g = gH[0]. This is ``MLP.input_gradient_pass``: the MLP's one backward recurrence with the
seed 1 and no parameter gradients.

**(2) The head: R and the gradient that starts the reverse pass** (``penalty_head``). With
gap_i = ||g_i|| - t (one-sided: max(0, ||g_i|| - t)),

    R = lam/N sum_i gap_i^2,          gH_bar[0]_i = dR/dg_i = 2 lam/N gap_i g_i / ||g_i||.

At g_i = 0 the direction g_i/||g_i|| is undefined; it is taken as 0 (no NaN). For t > 0 that is
a subgradient of a cone; for t = 0 (R1, R2) R = lam/N ||g||^2 is smooth and 0 is exact.

**(3) The reverse of (1), from the input layer up.** Pass (1) ran from the output down, so its
reverse runs from the input up. Each line of (1) is a product of two things that depend on the
weights, and each gives two terms:

    gH[l] = gA[l] W[l]^T    ->   gA_bar[l]  = gH_bar[l] W[l]                   (N, d_{l+1})
                                 W_bar[l]  += gH_bar[l]^T gA[l]                (d_l, d_{l+1})
    gA[l] = gH[l+1] s'(A[l]) ->  gH_bar[l+1] = gA_bar[l] * s'(A[l])            (N, d_{l+1})
                                 A_bar[l]    = gA_bar[l] * gH[l+1] * s''(A[l]) (N, d_{l+1})

The W_bar term is the direct path: W[l] appears in the input gradient itself. The A_bar term is
the **s'' injection**: the pre-activation A[l] enters the input gradient through s'(A[l]), so R
depends on A[l], and A[l] depends on every weight below it. At the top, gA[L-1] = 1 is a
constant: the reverse pass ends there.

**(4) The second-order path.** A[l] is an output of the *forward* pass, so dR/dA[l] = A_bar[l]
flows back through the forward pass as an ordinary backward pass, with each layer's injection
added where it enters (the MLP's backward recurrence again, seeded at the last hidden layer):

    dA[L-2] = A_bar[L-2]
    W_bar[l] += H[l]^T dA[l],    b_bar[l] += sum_rows dA[l]
    dA[l-1]  = (dA[l] W[l]^T) * s'(A[l-1]) + A_bar[l-1]

dR/dW[l] is the sum of (3)'s direct term and (4)'s term; dR/db[l] comes from (4) alone (the
biases reach g only through A).

**Why ReLU needs none of (4).** For ReLU and leaky ReLU s'' = 0 wherever it exists (everywhere
but the kink, a set of measure zero): every A_bar is 0, path (4) is empty, the biases get no
gradient from the penalty, and dR/dW is (3)'s direct term alone. For tanh, sigmoid, softplus or
SiLU, dropping (4) leaves the weight gradient wrong (relative error of order 1) while every
first-order check still passes: the classic bug of from-scratch WGAN-GP implementations (the
numpy-ml library's, for one). ``python -m tinywgan gradcheck`` checks every term above against
finite differences.

**Cost.** (1) and (3) are three products per layer, (4) two more (none for ReLU): the penalty
costs about as much as two more backward passes.

Under spectral normalisation every W above is the W_used = W / sigma the forward computed with,
and the caller maps dW_used onto the raw W (``MLP.spectral_backward``).
"""
from ..backend import get_array_module
from .layers import activation_input_grad_backward, linear_input_grad_backward


def penalty_head(grad_x, lam, target=1.0, one_sided=False):
    r"""Step (2): the penalty's value and the gradient that starts the reverse pass.

        R = lam/N sum_i gap_i^2,  gap_i = ||g_i|| - target  (one-sided: max(0, ||g_i|| - target))
        dR/dg_i = 2 lam/N gap_i g_i / ||g_i||   (direction 0 where g_i = 0)

    Shared by ``gradient_penalty`` and the fused steps (``tinywgan.fast``), which checked lam,
    target and one_sided at their doors.
    Inputs: grad_x: (N, d) the input gradients g_i; lam >= 0; target >= 0.
    Returns (R: 0-d array, norms: (N,) the ||g_i||, gH_bar0 = dR/dg: (N, d)).
    """
    xp, N = get_array_module(grad_x), grad_x.shape[0]
    norms = xp.sqrt((grad_x * grad_x).sum(axis=1))                         # (N,) ||g_i||
    gap = norms - target
    if one_sided:
        gap = xp.maximum(gap, 0)
    R = lam / N * (gap * gap).sum()
    unit = grad_x / xp.maximum(norms, xp.finfo(grad_x.dtype).tiny)[:, None]   # g/||g||, 0 at 0
    return R, norms, (2 * lam / N * gap)[:, None] * unit                   # (N, d)


def gradient_penalty(net, x_hat, lam, target=1.0, one_sided=False):
    """The penalty R at x_hat and its exact gradient, ADDED to ``net.dW_used`` (the weights the
    forward computed with: W itself without spectral norm) and ``net.db``: steps (1)-(4) above.

    Inputs: net: an MLP with scalar output; x_hat: (N, d_0); lam >= 0; target >= 0 (1 for
    WGAN-GP, 0 for R1/R2); one_sided: penalise only norms above the target. Checked at the
    callers' doors (``MLP.gradient_penalty``, ``steps.critic_grads``), not here.
    Returns (R: 0-d array, norms: (N,) the ||grad_x f(x_hat_i)||).
    """
    L, act, W = net.L, net.act, net.W_used
    cache, gA, gH = net.input_gradient_pass(x_hat)                     # (1) g = gH[0]
    R, norms, gH_bar = penalty_head(gH[0], lam, target, one_sided)     # (2) gH_bar[0]

    A_bar = [None] * L                                                 # (3) input layer up
    for l in range(L):
        gA_bar, W_bar = linear_input_grad_backward(gH_bar, gA[l], W[l])   # gH_bar[l] W[l],
        net.dW_used[l][...] += W_bar                                      # gH_bar[l]^T gA[l]
        if l < L - 1:                                  # gH_bar[l+1] = gA_bar s'(A[l]); A_bar[l]
            gH_bar, A_bar[l] = activation_input_grad_backward(gA_bar, gH[l + 1], cache.A[l], act)

    if act.second_order and L > 1:                                     # (4) s'' injections
        net.backprop(A_bar[L - 2], cache, top=L - 2, inject=A_bar, to_input=False)
    return R, norms
