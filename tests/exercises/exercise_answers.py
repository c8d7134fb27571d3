"""A learner's answers to every exercise, written the way a learner would (NumPy, no tinywgan
internals), and the known mistakes planted into copies of them.

``ANSWERS[name]``: the source that replaces the exercise's stub (a function, or the method of
a workbook class). ``PLANTS[(graded, mistake)]``: (the exercise whose answer is altered, the
(old, new) replacements that plant the mistake), graded as ``graded``; the grader must fail it
and name ``mistake``.
"""

ANSWERS = {
    "linear_backward": '''
def linear_backward(da, cache):
    x, W = cache
    return da @ W.T, x.T @ da, da.sum(axis=0)
''',
    "Tanh.df": '''
def df(self, a):
    e2 = np.exp(-2 * np.abs(a))
    return 4 * e2 / (1 + e2) ** 2
''',
    "Tanh.d2f": '''
def d2f(self, a):
    e2 = np.exp(-2 * np.abs(a))
    return -2 * np.tanh(a) * 4 * e2 / (1 + e2) ** 2
''',
    "Sigmoid.df": '''
def df(self, a):
    e = np.exp(-np.abs(a))
    return e / (1 + e) ** 2
''',
    "Sigmoid.d2f": '''
def d2f(self, a):
    e = np.exp(-np.abs(a))
    return -e / (1 + e) ** 2 * np.tanh(a / 2)
''',
    "Softplus.df": '''
def df(self, a):
    return mlp.sigmoid(a)
''',
    "Softplus.d2f": '''
def d2f(self, a):
    e = np.exp(-np.abs(a))
    return e / (1 + e) ** 2
''',
    "SiLU.df": '''
def df(self, a):
    return mlp.sigmoid(a) * (1 + a * mlp.sigmoid(-a))
''',
    "SiLU.d2f": '''
def d2f(self, a):
    e = np.exp(-np.abs(a))
    return e / (1 + e) ** 2 * (2 - a * np.tanh(a / 2))
''',
    "activation_backward": '''
def activation_backward(dh, cache):
    a, act = cache
    return dh * act.df(a)
''',
    "mlp_backward": '''
def mlp_backward(net, dout, cache):
    H, A = cache
    dA = dout
    for l in range(net.L - 1, -1, -1):
        net.dW[l][...] += H[l].T @ dA
        net.db[l][...] += dA.sum(axis=0)
        dH = dA @ net.W[l].T
        if l > 0:
            dA = dH * net.act.df(A[l - 1])
    return dH
''',
    "input_gradient": '''
def input_gradient(net, x):
    f, (H, A) = net.forward(x)
    dA = np.ones_like(f)
    for l in range(net.L - 1, -1, -1):
        dH = dA @ net.W[l].T
        if l > 0:
            dA = dH * net.act.df(A[l - 1])
    return dH
''',
    "penalty_head": '''
def penalty_head(grad_x, lam, target=1.0, one_sided=False):
    N = grad_x.shape[0]
    norms = np.sqrt((grad_x ** 2).sum(axis=1))
    gap = norms - target
    if one_sided:
        gap = np.maximum(gap, 0)
    R = lam / N * (gap ** 2).sum()
    unit = grad_x / np.maximum(norms, 1e-300)[:, None]
    return R, norms, (2 * lam / N * gap)[:, None] * unit
''',
    "gradient_penalty_relu": '''
def gradient_penalty_relu(net, x_hat, lam, target=1.0, one_sided=False):
    cache, gA, gH = net.input_gradient_pass(x_hat)
    R, norms, gH_bar = penalty_head(gH[0], lam, target, one_sided)
    for l in range(net.L):
        net.dW[l][...] += gH_bar.T @ gA[l]
        gA_bar = gH_bar @ net.W[l]
        if l < net.L - 1:
            gH_bar = gA_bar * net.act.df(cache.A[l])
    return R, norms
''',
    "gradient_penalty": '''
def gradient_penalty(net, x_hat, lam, target=1.0, one_sided=False):
    (H, A), gA, gH = net.input_gradient_pass(x_hat)
    R, norms, gH_bar = penalty_head(gH[0], lam, target, one_sided)
    L, act = net.L, net.act
    A_bar = [np.zeros_like(a) for a in A]
    for l in range(L):
        net.dW[l][...] += gH_bar.T @ gA[l]
        gA_bar = gH_bar @ net.W[l]
        if l < L - 1:
            A_bar[l] = gA_bar * gH[l + 1] * act.d2f(A[l])
            gH_bar = gA_bar * act.df(A[l])
    dA = A_bar[L - 2]
    for l in range(L - 2, -1, -1):
        net.dW[l][...] += H[l].T @ dA
        net.db[l][...] += dA.sum(axis=0)
        if l > 0:
            dA = (dA @ net.W[l].T) * act.df(A[l - 1]) + A_bar[l - 1]
    return R, norms
''',
    "wasserstein_critic_loss": '''
def wasserstein_critic_loss(f_real, f_fake):
    N, M = f_real.shape[0], f_fake.shape[0]
    L = f_fake.mean() - f_real.mean()
    return L, np.full_like(f_real, -1 / N), np.full_like(f_fake, 1 / M)
''',
    "wasserstein_generator_loss": '''
def wasserstein_generator_loss(f_fake):
    M = f_fake.shape[0]
    return -f_fake.mean(), np.full_like(f_fake, -1 / M)
''',
    "gan_discriminator_loss": '''
def gan_discriminator_loss(logit_real, logit_fake):
    N, M = logit_real.shape[0], logit_fake.shape[0]
    L = mlp.softplus(-logit_real).mean() + mlp.softplus(logit_fake).mean()
    return L, -mlp.sigmoid(-logit_real) / N, mlp.sigmoid(logit_fake) / M
''',
    "gan_generator_loss": '''
def gan_generator_loss(logit_fake, kind="nonsaturating"):
    M = logit_fake.shape[0]
    if kind == "minimax":
        return -mlp.softplus(logit_fake).mean(), -mlp.sigmoid(logit_fake) / M
    return mlp.softplus(-logit_fake).mean(), -mlp.sigmoid(-logit_fake) / M
''',
    "generator_grads": '''
def generator_grads(G, D, z, method="wgan-gp", gan_loss="nonsaturating"):
    G.zero_grad()
    x_fake, g_cache = G.forward(z)
    f_fake, d_cache = D.forward(x_fake)
    if method == "gan":
        loss, d_f = gan_generator_loss(f_fake, gan_loss)
    else:
        loss, d_f = wasserstein_generator_loss(f_fake)
    dx_fake = D.backward(d_f, d_cache, param_grads=False)
    G.backward(dx_fake, g_cache)
    return {"gen_loss": loss}
''',
    "critic_grads": '''
def critic_grads(D, x_real, x_fake, eps=None, method="wgan-gp", lam=1.0):
    D.spectral_normalise()
    D.zero_grad()
    f_real, c_real = D.forward(x_real)
    f_fake, c_fake = D.forward(x_fake)
    if method == "gan":
        loss, d_real, d_fake = gan_discriminator_loss(f_real, f_fake)
    else:
        loss, d_real, d_fake = wasserstein_critic_loss(f_real, f_fake)
    D.backward(d_real, c_real)
    D.backward(d_fake, c_fake)
    out = {"w_estimate": f_real.mean() - f_fake.mean()}
    if method in ("wgan-gp", "wgan-lp"):
        x_hat = eps * x_real + (1 - eps) * x_fake
        R, norms = D.gradient_penalty(x_hat, lam, one_sided=(method == "wgan-lp"))
        loss = loss + R
        out.update(penalty=R, grad_norm=norms.mean())
    D.spectral_backward()
    out["critic_loss"] = loss
    return out
''',
    "clip_weights": '''
def clip_weights(params, c):
    np.clip(params, -c, c, out=params)
''',
    "RMSProp._update": '''
def _update(self, p, g, t):
    ms = self._state["ms"]
    ms[...] = self.alpha * ms + (1 - self.alpha) * g ** 2
    p -= self.lr * g / (np.sqrt(ms) + self.eps)
''',
    "Adam._update": '''
def _update(self, p, g, t):
    m, v = self._state["m"], self._state["v"]
    b1, b2 = self.betas
    m[...] = b1 * m + (1 - b1) * g
    v[...] = b2 * v + (1 - b2) * g ** 2
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
''',
    "SpectralNorm.backward": '''
def backward(self, dW_hats, dWs):
    for l in range(len(dWs)):
        inner = (dW_hats[l] * self.W_hats[l]).sum()
        dWs[l][...] += (dW_hats[l] - inner * np.outer(self.u[l], self.v[l])) / self.sigma[l]
''',
    "GroupSort.vjp": '''
def vjp(self, dh, a):
    N, M = a.shape
    order = np.argsort(a.reshape(N, -1, self.k), axis=-1)
    da = np.empty((N, M // self.k, self.k))
    np.put_along_axis(da, order, dh.reshape(N, -1, self.k), axis=-1)
    return da.reshape(N, M)
''',
    "bjorck_step_backward": '''
def bjorck_step_backward(dW_next, W):
    A = 1.5 * np.eye(W.shape[1]) - 0.5 * W.T @ W
    G = W.T @ dW_next
    return dW_next @ A - 0.5 * W @ (G + G.T)
''',
}

_TAILS = "e / (1 + e) ** 2"       # sigma'(a), written stably

_SECOND_ORDER_PATH = """    dA = A_bar[L - 2]
    for l in range(L - 2, -1, -1):
        net.dW[l][...] += H[l].T @ dA
        net.db[l][...] += dA.sum(axis=0)
        if l > 0:
            dA = (dA @ net.W[l].T) * act.df(A[l - 1]) + A_bar[l - 1]
"""

_HEAD = {
    "norm over the wrong axis": [("N = grad_x.shape[0]", "N = grad_x.shape[1]"),
                                 ("sum(axis=1)", "sum(axis=0)"), ("[:, None]", "[None, :]")],
    "1/N missing": [("lam / N", "lam")],
    "NaN at g = 0": [("np.maximum(norms, 1e-300)", "norms")],
    "the squared norm penalised": [("gap = norms - target", "gap = norms ** 2 - target"),
                                   ("(2 * lam / N * gap)[:, None] * unit",
                                    "(4 * lam / N * gap)[:, None] * grad_x")],
    "one_sided ignored": [("if one_sided:", "if False:")],
    "norm per coordinate": [("N = grad_x.shape[0]", "N = grad_x.size"),
                            ("np.sqrt((grad_x ** 2).sum(axis=1))", "np.abs(grad_x)"),
                            ("grad_x / np.maximum(norms, 1e-300)[:, None]", "np.sign(grad_x)"),
                            ("(2 * lam / N * gap)[:, None] * unit", "2 * lam / N * gap * unit")],
}

PLANTS = {
    ("linear_backward", "dW transposed"): ("linear_backward", [("x.T @ da", "da.T @ x")]),
    ("linear_backward", "db not summed over the rows"):
        ("linear_backward", [("da.sum(axis=0)", "da")]),
    ("linear_backward", "db averaged over the rows"):
        ("linear_backward", [("da.sum(axis=0)", "da.mean(axis=0)")]),
    ("linear_backward", "db summed over the wrong axis"):
        ("linear_backward", [("da.sum(axis=0)", "da.sum(axis=1)")]),
    ("Tanh.df", "1 - tanh(a)^2"): ("Tanh.df", [("4 * e2 / (1 + e2) ** 2", "1 - np.tanh(a) ** 2")]),
    ("Tanh.d2f", "-2 tanh(a) (1 - tanh(a)^2)"):
        ("Tanh.d2f", [("4 * e2 / (1 + e2) ** 2", "(1 - np.tanh(a) ** 2)")]),
    ("Tanh.d2f", "sign of s'' flipped"): ("Tanh.d2f", [("-2 * np.tanh", "2 * np.tanh")]),
    ("Sigmoid.df", "sigma (1 - sigma)"):
        ("Sigmoid.df", [(_TAILS, "mlp.sigmoid(a) * (1 - mlp.sigmoid(a))")]),
    ("Sigmoid.d2f", "sigma (1 - sigma) (1 - 2 sigma)"):
        ("Sigmoid.d2f", [("-e / (1 + e) ** 2 * np.tanh(a / 2)", "mlp.sigmoid(a) * (1 - "
                          "mlp.sigmoid(a)) * (1 - 2 * mlp.sigmoid(a))")]),
    ("Softplus.df", "1 / (1 + e^a)"): ("Softplus.df", [("sigmoid(a)", "sigmoid(-a)")]),
    ("Softplus.d2f", "sigma (1 - sigma)"):
        ("Softplus.d2f", [(_TAILS, "mlp.sigmoid(a) * (1 - mlp.sigmoid(a))")]),
    ("SiLU.df", "product rule missed"):
        ("SiLU.df", [(" * (1 + a * mlp.sigmoid(-a))", "")]),
    ("SiLU.d2f", "2 s' + a s'' from sigma (1 - sigma)"):
        ("SiLU.d2f", [("e / (1 + e) ** 2 * (2 - a * np.tanh(a / 2))",
                       "(lambda s: 2 * s * (1 - s) + a * s * (1 - s) * (1 - 2 * s))(mlp.sigmoid(a))")]),
    ("SiLU.d2f", "one sigma' term missed"): ("SiLU.d2f", [("(2 - a", "(1 - a")]),
    ("activation_backward", "s(a), not s'(a)"): ("activation_backward", [("act.df", "act.f")]),
    ("activation_backward", "dh left out"): ("activation_backward", [("dh * ", "")]),
    ("mlp_backward", "s' after the last layer"):
        ("mlp_backward", [("dA = dout", "dA = dout * net.act.df(A[-1])")]),
    ("mlp_backward", "s' at the activation, not the pre-activation"):
        ("mlp_backward", [("net.act.df(A[l - 1])", "net.act.df(H[l])")]),
    ("mlp_backward", "assigned instead of added"): ("mlp_backward", [("[...] +=", "[...] =")]),
    ("input_gradient", "seeded with 1/N"):
        ("input_gradient", [("np.ones_like(f)", "np.ones_like(f) / len(f)")]),
    ("input_gradient", "summed over the batch"): ("input_gradient", [("return dH", "return "
                                                                      "dH.sum(axis=0)")]),
    ("input_gradient", "parameter gradients added"):
        ("input_gradient", [("        dH = dA", "        net.dW[l][...] += H[l].T @ dA\n"
                             "        net.db[l][...] += dA.sum(axis=0)\n        dH = dA")]),
    ("gradient_penalty", "s'' path dropped"):
        ("gradient_penalty", [("act.d2f(A[l])", "0 * act.d2f(A[l])")]),
    ("gradient_penalty", "s'' into its own bias only (numpy-ml's)"):
        ("gradient_penalty", [(_SECOND_ORDER_PATH, "    for l in range(L - 1):\n"
                               "        net.db[l][...] += A_bar[l].sum(axis=0)\n")]),
    ("gradient_penalty", "penalty not backpropagated"):
        ("gradient_penalty", [("net.dW[l][...] +=", "0 *"), ("net.db[l][...] +=", "0 *")]),
    ("gradient_penalty_relu", "penalty not backpropagated"):
        ("gradient_penalty_relu", [("net.dW[l][...] +=", "0 *")]),
    ("wasserstein_critic_loss", "critic's sign flipped"):
        ("wasserstein_critic_loss", [("f_fake.mean() - f_real.mean()",
                                      "f_real.mean() - f_fake.mean()"), ("-1 / N", "1 / N"),
                                     ("1 / M)", "-1 / M)")]),
    ("wasserstein_critic_loss", "1/N missing"):
        ("wasserstein_critic_loss", [("-1 / N", "-1"), ("1 / M", "1")]),
    ("wasserstein_critic_loss", "N and M swapped"):
        ("wasserstein_critic_loss", [("N, M = f_real", "M, N = f_real")]),
    ("wasserstein_generator_loss", "generator's sign flipped"):
        ("wasserstein_generator_loss", [("-f_fake.mean()", "f_fake.mean()"), ("-1 / M", "1 / M")]),
    ("wasserstein_generator_loss", "1/M missing"):
        ("wasserstein_generator_loss", [("-1 / M", "-1")]),
    ("gan_discriminator_loss", "log(sigmoid) overflows"):
        ("gan_discriminator_loss", [("mlp.softplus(-logit_real).mean() + mlp.softplus("
                                     "logit_fake).mean()", "-np.log(mlp.sigmoid(logit_real))"
                                     ".mean() - np.log(1 - mlp.sigmoid(logit_fake)).mean()")]),
    ("gan_discriminator_loss", "sign of the real logits' gradient"):
        ("gan_discriminator_loss", [("-mlp.sigmoid(-logit_real) / N",
                                     "mlp.sigmoid(-logit_real) / N")]),
    ("gan_discriminator_loss", "1/N missing"):
        ("gan_discriminator_loss", [("(-logit_real) / N", "(-logit_real)"),
                                    ("(logit_fake) / M", "(logit_fake)")]),
    ("gan_generator_loss", "minimax and non-saturating swapped"):
        ("gan_generator_loss", [('kind == "minimax"', 'kind == "nonsaturating"')]),
    ("gan_generator_loss", "log(sigmoid) overflows"):
        ("gan_generator_loss", [("-mlp.softplus(logit_fake).mean()",
                                 "np.log(1 - mlp.sigmoid(logit_fake)).mean()"),
                                ("mlp.softplus(-logit_fake).mean()",
                                 "-np.log(mlp.sigmoid(logit_fake)).mean()")]),
    ("gan_generator_loss", "1/M missing"): ("gan_generator_loss", [(" / M", "")]),
    ("generator_grads", "generator fed dL/df"):
        ("generator_grads", [("dx_fake = D.backward(d_f, d_cache, param_grads=False)",
                              "dx_fake = d_f * np.ones_like(x_fake)")]),
    ("generator_grads", "generator's sign flipped"):
        ("generator_grads", [("G.backward(dx_fake", "G.backward(-dx_fake"),
                             ('{"gen_loss": loss}', '{"gen_loss": -loss}')]),
    ("generator_grads", "the critic's gradients changed"):
        ("generator_grads", [(", param_grads=False", "")]),
    ("generator_grads", "G.grads not zeroed first"): ("generator_grads", [("G.zero_grad()",
                                                                           "pass")]),
    ("critic_grads", "critic's sign flipped"):
        ("critic_grads", [("    D.backward(d_real, c_real)", "    if method != 'gan':\n"
                           "        loss, d_real, d_fake = -loss, -d_real, -d_fake\n"
                           "    D.backward(d_real, c_real)")]),
    ("critic_grads", "penalty not backpropagated"):
        ("critic_grads", [("R, norms = D.gradient_penalty(x_hat, lam, one_sided=(method == "
                           "\"wgan-lp\"))", "g = D.input_gradient(x_hat)\n"
                           "        norms = np.sqrt((g ** 2).sum(axis=1))\n"
                           "        gap = np.maximum(norms - 1, 0) if method == 'wgan-lp' "
                           "else norms - 1\n        R = lam * (gap ** 2).mean()")]),
    ("critic_grads", "s'' path dropped"):
        ("critic_grads", [("        R, norms = D.gradient_penalty", "        act = D.act\n"
                           "        D.act = type(act)()\n        D.act.second_order = False\n"
                           "        R, norms = D.gradient_penalty")]),
    ("critic_grads", "spectral_backward not called"): ("critic_grads", [("D.spectral_backward()",
                                                                         "pass")]),
    ("critic_grads", "D.grads not zeroed first"): ("critic_grads", [("D.zero_grad()", "pass")]),
    ("critic_grads", "eps applied to the fake point"):
        ("critic_grads", [("eps * x_real + (1 - eps) * x_fake",
                           "eps * x_fake + (1 - eps) * x_real")]),
    ("critic_grads", "penalty at the real points"):
        ("critic_grads", [("eps * x_real + (1 - eps) * x_fake", "x_real")]),
    ("clip_weights", "not in place"): ("clip_weights", [(", out=params)", ")")]),
    ("clip_weights", "clipped from above only"):
        ("clip_weights", [("np.clip(params, -c, c, out=params)", "np.minimum(params, c, "
                           "out=params)")]),
    ("RMSProp._update", "eps inside the root"):
        ("RMSProp._update", [("np.sqrt(ms) + self.eps", "np.sqrt(ms + self.eps)")]),
    ("RMSProp._update", "alpha and 1 - alpha swapped"):
        ("RMSProp._update", [("self.alpha * ms + (1 - self.alpha)",
                              "(1 - self.alpha) * ms + self.alpha")]),
    ("RMSProp._update", "state not kept"): ("RMSProp._update", [("ms[...] =", "ms =")]),
    ("RMSProp._update", "params not updated in place"): ("RMSProp._update", [("p -=",
                                                                              "p = p -")]),
    ("Adam._update", "no bias correction"):
        ("Adam._update", [(" / (1 - b1 ** t)", ""), (" / (1 - b2 ** t)", "")]),
    ("Adam._update", "bias correction from t = 0"): ("Adam._update", [("** t)", "** (t - 1))")]),
    ("Adam._update", "eps inside the root"):
        ("Adam._update", [("np.sqrt(v_hat) + self.eps", "np.sqrt(v_hat + self.eps)")]),
    ("Adam._update", "state not kept"): ("Adam._update", [("m[...] =", "m ="), ("v[...] =",
                                                                                "v =")]),
    ("Adam._update", "params not updated in place"): ("Adam._update", [("p -=", "p = p -")]),
    ("RMSProp._update", "eps hard-coded"): ("RMSProp._update", [("self.eps", "1e-8")]),
    ("Adam._update", "eps hard-coded"): ("Adam._update", [("self.eps", "1e-8")]),
    ("Adam._update", "eps not rescaled in the efficient form"):
        ("Adam._update", [("    m_hat = m / (1 - b1 ** t)\n    v_hat = v / (1 - b2 ** t)\n"
                           "    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)",
                           "    step = self.lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)\n"
                           "    p -= step * m / (np.sqrt(v) + self.eps)")]),
    ("SpectralNorm.backward", "the term through sigma missing"):
        ("SpectralNorm.backward", [("(dW_hats[l] - inner * np.outer(self.u[l], self.v[l]))",
                                    "dW_hats[l]")]),
    ("SpectralNorm.backward", "that term's sign flipped"):
        ("SpectralNorm.backward", [("- inner", "+ inner")]),
    ("SpectralNorm.backward", "not divided by sigma"):
        ("SpectralNorm.backward", [(" / self.sigma[l]", "")]),
    ("SpectralNorm.backward", "assigned instead of added"):
        ("SpectralNorm.backward", [("dWs[l][...] +=", "dWs[l][...] =")]),
    ("GroupSort.vjp", "routed by the input order"):
        ("GroupSort.vjp", [("np.put_along_axis(da, order, dh.reshape(N, -1, self.k), axis=-1)",
                            "da = np.take_along_axis(dh.reshape(N, -1, self.k), order, axis=-1)")]),
    ("GroupSort.vjp", "gradient not permuted"): ("GroupSort.vjp", [("return da.reshape(N, M)",
                                                                   "return dh")]),
    ("GroupSort.vjp", "sorted over the whole row"): ("GroupSort.vjp", [("self.k", "M")]),
    ("bjorck_step_backward", "W inside A held constant"):
        ("bjorck_step_backward", [(" - 0.5 * W @ (G + G.T)", "")]),
    ("bjorck_step_backward", "the transpose term dropped"):
        ("bjorck_step_backward", [("(G + G.T)", "G")]),
    ("bjorck_step_backward", "factor 1/2 lost"): ("bjorck_step_backward", [("- 0.5 * W @",
                                                                            "- W @")]),
}

# The head's mistakes, planted into penalty_head: the head itself fails with them, and so do
# both penalties, which call it.
for _graded in ("penalty_head", "gradient_penalty_relu", "gradient_penalty"):
    for _name, _changes in _HEAD.items():
        PLANTS[(_graded, _name)] = ("penalty_head", _changes)
