"""A second correct workbook, written independently of the library and of ``exercise_answers``
in another style: einsum instead of @, forward-mode and stacked passes instead of the library's
loops, and another exact form of each derivative (sech = 2e/(1 + e^2), sigma from softplus,
s'' = -sign(a) e (1 - e)/(1 + e)^3, Adam's efficient form with eps rescaled, GroupSort's
permutation as a one-hot array, Bjorck's backward by the product rule over W W^T W). The grader
must pass all of it on every seed: a failure here is a false alarm.

``ANSWERS[name]``: the source that replaces the exercise's stub, as in ``exercise_answers``.
"""

_SIGMA = "np.exp(-np.logaddexp(0, -a))"                   # sigma(a) = e^{-softplus(-a)}
_DSIGMA = "np.exp(-np.logaddexp(0, a) - np.logaddexp(0, -a))"    # sigma'(a) = sigma(a) sigma(-a)
# sigma''(a) = -sign(a) e (1 - e) / (1 + e)^3, e = e^{-|a|}, 1 - e = -expm1(-|a|)
_D2SIGMA = "(-np.sign(a) * np.exp(-abs(a)) * -np.expm1(-abs(a)) / (1 + np.exp(-abs(a))) ** 3)"

ANSWERS = {
    "linear_backward": '''
def linear_backward(da, cache):
    x, W = cache
    return (np.einsum("nm,dm->nd", da, W), np.einsum("nd,nm->dm", x, da),
            np.einsum("nm->m", da))
''',
    "Tanh.df": '''
def df(self, a):
    e = np.exp(-abs(a))
    sech = 2 * e / (1 + e * e)
    return sech * sech
''',
    "Tanh.d2f": '''
def d2f(self, a):
    e = np.exp(-abs(a))
    sech = 2 * e / (1 + e * e)
    tanh = np.sign(a) * -np.expm1(-2 * abs(a)) / (1 + e * e)
    return -2 * tanh * sech * sech
''',
    "Sigmoid.df": '''
def df(self, a):
    return %s
''' % _DSIGMA,
    "Sigmoid.d2f": '''
def d2f(self, a):
    return %s
''' % _D2SIGMA,
    "Softplus.df": '''
def df(self, a):
    return %s
''' % _SIGMA,
    "Softplus.d2f": '''
def d2f(self, a):
    return %s
''' % _DSIGMA,
    "SiLU.df": '''
def df(self, a):
    return %s + a * %s
''' % (_SIGMA, _DSIGMA),
    "SiLU.d2f": '''
def d2f(self, a):
    return 2 * %s + a * %s
''' % (_DSIGMA, _D2SIGMA),
    "activation_backward": '''
def activation_backward(dh, cache):
    a, act = cache
    da = np.array(dh, copy=True)
    da *= act.df(a)
    return da
''',
    "mlp_backward": '''
def mlp_backward(net, dout, cache):
    H, A = cache
    deltas = [None] * net.L
    deltas[-1] = dout
    for l in reversed(range(1, net.L)):
        deltas[l - 1] = np.einsum("nk,jk->nj", deltas[l], net.W[l]) * net.act.df(A[l - 1])
    for l, delta in enumerate(deltas):
        net.dW[l][...] += np.einsum("nj,nk->jk", H[l], delta)
        net.db[l][...] += np.einsum("nk->k", delta)
    return np.einsum("nk,jk->nj", deltas[0], net.W[0])
''',
    "input_gradient": '''
def input_gradient(net, x):
    # forward mode: T[n] = d A_l[n] / d x[n], (N, d_0, d_{l+1}), carried up the layers
    h = x
    T = np.broadcast_to(np.eye(x.shape[1]), (x.shape[0], x.shape[1], x.shape[1]))
    for l in range(net.L):
        a = h @ net.W[l] + net.b[l]
        T = np.einsum("nij,jk->nik", T, net.W[l])
        if l < net.L - 1:
            T = T * net.act.df(a)[:, None, :]
            h = net.act.f(a)
    return T[:, :, 0]
''',
    "penalty_head": '''
def penalty_head(grad_x, lam, target=1.0, one_sided=False):
    N = len(grad_x)
    norms = np.linalg.norm(grad_x, axis=1)
    gap = np.clip(norms - target, 0, None) if one_sided else norms - target
    unit = np.divide(grad_x, norms[:, None], out=np.zeros_like(grad_x),
                     where=norms[:, None] > 0)
    return lam * np.mean(gap ** 2), norms, np.einsum("n,nd->nd", 2 * lam * gap / N, unit)
''',
    "gradient_penalty_relu": '''
def gradient_penalty_relu(net, x_hat, lam, target=1.0, one_sided=False):
    return gradient_penalty(net, x_hat, lam, target, one_sided)
''',
    "gradient_penalty": '''
def gradient_penalty(net, x_hat, lam, target=1.0, one_sided=False):
    L, act = net.L, net.act
    H, A = [x_hat], []
    for l in range(L):                                   # the forward pass
        A.append(np.einsum("nj,jk->nk", H[l], net.W[l]) + net.b[l])
        if l < L - 1:
            H.append(act.f(A[l]))
    gA = [None] * L                                      # the input gradient, top down
    gA[L - 1] = np.ones_like(A[L - 1])
    for l in reversed(range(1, L)):
        gA[l - 1] = np.einsum("nk,jk->nj", gA[l], net.W[l]) * act.df(A[l - 1])
    g = np.einsum("nk,jk->nj", gA[0], net.W[0])
    R, norms, g_bar = penalty_head(g, lam, target, one_sided)
    A_bar = []                                           # its reverse, bottom up
    gH_bar = g_bar
    for l in range(L):
        net.dW[l][...] += np.einsum("nj,nk->jk", gH_bar, gA[l])
        gA_bar = np.einsum("nj,jk->nk", gH_bar, net.W[l])
        if l < L - 1:
            gH_next = np.einsum("nk,jk->nj", gA[l + 1], net.W[l + 1])
            A_bar.append(gA_bar * gH_next * act.d2f(A[l]))
            gH_bar = gA_bar * act.df(A[l])
    dA = None                                            # s'' back through the forward pass
    for l in reversed(range(L - 1)):
        dA = A_bar[l] if dA is None else A_bar[l] + np.einsum(
            "nk,jk->nj", dA, net.W[l + 1]) * act.df(A[l])
        net.dW[l][...] += np.einsum("nj,nk->jk", H[l], dA)
        net.db[l][...] += dA.sum(axis=0)
    return R, norms
''',
    "wasserstein_critic_loss": '''
def wasserstein_critic_loss(f_real, f_fake):
    d_real = -np.ones_like(f_real) / len(f_real)
    d_fake = np.ones_like(f_fake) / len(f_fake)
    return (d_fake * f_fake).sum() + (d_real * f_real).sum(), d_real, d_fake
''',
    "wasserstein_generator_loss": '''
def wasserstein_generator_loss(f_fake):
    d_fake = -np.ones_like(f_fake) / len(f_fake)
    return (d_fake * f_fake).sum(), d_fake
''',
    "gan_discriminator_loss": '''
def gan_discriminator_loss(logit_real, logit_fake):
    def sig(a):
        return np.exp(-np.logaddexp(0, -a))
    loss = np.logaddexp(0, -logit_real).mean() + np.logaddexp(0, logit_fake).mean()
    return loss, -sig(-logit_real) / len(logit_real), sig(logit_fake) / len(logit_fake)
''',
    "gan_generator_loss": '''
def gan_generator_loss(logit_fake, kind="nonsaturating"):
    sign = 1.0 if kind == "minimax" else -1.0            # minimax: log(1 - D); else -log D
    M = len(logit_fake)
    loss = -np.logaddexp(0, sign * logit_fake).mean() * (1 if kind == "minimax" else -1)
    return loss, -np.exp(-np.logaddexp(0, -sign * logit_fake)) / M
''',
    "generator_grads": '''
def generator_grads(G, D, z, method="wgan-gp", gan_loss="nonsaturating"):
    G.grads[...] = 0
    x_fake, g_cache = G.forward(z)
    H, A = [x_fake], []
    for l in range(D.L):                                 # D's forward, written out
        A.append(H[l] @ D.W[l] + D.b[l])
        if l < D.L - 1:
            H.append(D.act.f(A[l]))
    if method == "gan":
        loss, d = gan_generator_loss(A[-1], gan_loss)
    else:
        loss, d = wasserstein_generator_loss(A[-1])
    for l in reversed(range(D.L)):                       # back to x_fake, D's buffers untouched
        d = np.einsum("nk,jk->nj", d, D.W[l])
        if l > 0:
            d = d * D.act.df(A[l - 1])
    G.backward(d, g_cache)
    return {"gen_loss": loss}
''',
    "critic_grads": '''
def critic_grads(D, x_real, x_fake, eps=None, method="wgan-gp", lam=1.0):
    D.spectral_normalise()
    D.zero_grad()
    B = len(x_real)
    f, cache = D.forward(np.concatenate([x_real, x_fake]))     # one pass over both batches
    f_real, f_fake = f[:B], f[B:]
    if method == "gan":
        loss, d_real, d_fake = gan_discriminator_loss(f_real, f_fake)
    else:
        loss, d_real, d_fake = wasserstein_critic_loss(f_real, f_fake)
    D.backward(np.concatenate([d_real, d_fake]), cache)
    out = {"w_estimate": f_real.mean() - f_fake.mean()}
    if method in ("wgan-gp", "wgan-lp"):
        x_hat = x_fake + eps * (x_real - x_fake)
        R, norms = D.gradient_penalty(x_hat, lam, 1.0, method == "wgan-lp")
        loss += R
        out["penalty"], out["grad_norm"] = R, norms.mean()
    D.spectral_backward()
    out["critic_loss"] = loss
    return out
''',
    "clip_weights": '''
def clip_weights(params, c):
    params[params > c] = c
    params[params < -c] = -c
''',
    "RMSProp._update": '''
def _update(self, p, g, t):
    ms = self._state["ms"]
    ms *= self.alpha
    ms += (1 - self.alpha) * g * g
    p -= self.lr * g / (np.sqrt(ms) + self.eps)
''',
    "Adam._update": '''
def _update(self, p, g, t):
    m, v = self._state["m"], self._state["v"]
    b1, b2 = self.betas
    m += (1 - b1) * (g - m)
    v += (1 - b2) * (g * g - v)
    root = (1 - b2 ** t) ** 0.5                          # the efficient form, eps rescaled
    p -= self.lr * root / (1 - b1 ** t) * m / (np.sqrt(v) + self.eps * root)
''',
    "SpectralNorm.backward": '''
def backward(self, dW_hats, dWs):
    for dW_hat, W_hat, u, v, sigma, dW in zip(dW_hats, self.W_hats, self.u, self.v,
                                               self.sigma, dWs):
        inner = np.einsum("ij,ij->", dW_hat, W_hat)
        dW += (dW_hat - inner * np.einsum("i,j->ij", u, v)) / sigma
''',
    "GroupSort.vjp": '''
def vjp(self, dh, a):
    groups = a.reshape(len(a), -1, self.k)
    # P[n, g, j, i]: the input i of group g lands at sorted place j; da_i = sum_j P_ji dh_j
    P = np.argsort(groups, axis=-1)[..., None] == np.arange(self.k)
    return np.einsum("ngji,ngj->ngi", P, dh.reshape(groups.shape)).reshape(a.shape)
''',
    "bjorck_step_backward": '''
def bjorck_step_backward(dW_next, W):
    # W' = 3/2 W - 1/2 W W^T W: the product rule over the three factors of W W^T W
    S = np.einsum("ki,kj->ij", W, W)
    return 1.5 * dW_next - 0.5 * (np.einsum("ik,kj->ij", dW_next, S)
                                  + np.einsum("ik,lk,lj->ij", W, dW_next, W)
                                  + np.einsum("ik,lk,lj->ij", W, W, dW_next))
''',
}
