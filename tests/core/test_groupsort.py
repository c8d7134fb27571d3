"""GroupSort and Bjorck: the permutation's backward and tangent against finite differences, and
the Lipschitz bound of an orthonormalised GroupSort critic against its measured slopes."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinywgan.core import lipschitz, steps
from tinywgan.core.mlp import MLP, GroupSort, get_activation
from tinywgan.core.optim import make_optimizer
from tinywgan.measure import bounds
from tinywgan.measure.critic import fit_critic
from tinywgan.measure.finitediff import compare, numerical_gradient

shapes = st.fixed_dictionaries({"k": st.integers(2, 4), "groups": st.integers(1, 4),
                                "N": st.integers(1, 4), "seed": st.integers(0, 2 ** 16)})


@given(shapes)
def test_vjp_and_jvp_match_finite_differences(p):
    """da = P^T dh (vjp) is the gradient of <s(a), dh>; J t (jvp) is the directional derivative."""
    act = GroupSort(p["k"])
    rng = np.random.default_rng(p["seed"])
    a = rng.permutation(np.arange(p["N"] * p["groups"] * p["k"], dtype=float))  # gaps >= 1: no ties
    a = a.reshape(p["N"], -1)
    dh, t = rng.normal(size=(2,) + a.shape)
    assert compare("vjp", act.vjp(dh, a), numerical_gradient(lambda: (act.f(a) * dh).sum(), a))["ok"]
    h = 1e-6
    assert np.allclose(act.jvp(t, a), (act.f(a + h * t) - act.f(a - h * t)) / (2 * h), atol=1e-8)
    assert np.allclose(np.sort(act.f(a).reshape(p["N"], -1, p["k"]), -1),
                       act.f(a).reshape(p["N"], -1, p["k"]))             # sorted in each group


nets = st.fixed_dictionaries({
    "k": st.integers(2, 3),
    "hidden": st.lists(st.integers(1, 6), min_size=1, max_size=3),
    "d_in": st.integers(1, 4),
    "seed": st.integers(0, 2 ** 16),
})


@given(nets)
def test_orthonormalised_groupsort_critic_is_1_lipschitz(p):
    """After Bjorck every ||W_l||_2 is 1 (the bound, their product, is 1) and no measured slope,
    gradient norm or difference quotient, exceeds it."""
    widths = (p["d_in"], *[p["k"] * h for h in p["hidden"]], 1)
    net = MLP(widths, "groupsort:%d" % p["k"], dtype="float64", seed=p["seed"])
    steps.orthonormalise(net, start=True)
    for W in net.W:
        assert np.linalg.svd(W, compute_uv=False) == pytest.approx(1.0, abs=1e-9)
    bound = bounds.lipschitz_bound(net)
    assert bound == pytest.approx(1.0, abs=1e-9)
    x1, x2 = np.random.default_rng(p["seed"]).normal(scale=3.0, size=(2, 64, p["d_in"]))
    assert bounds.lipschitz_estimate(net, x1) <= bound * (1 + 1e-9)
    lhs = np.abs(net(x1) - net(x2))[:, 0]
    assert np.all(lhs <= bound * np.linalg.norm(x1 - x2, axis=1) * (1 + 1e-9) + 1e-12)


def test_groupsort_keeps_the_gradient_norm_where_relu_loses_it():
    """Anil et al.'s point: with square orthonormal layers, every input gradient of a GroupSort
    critic has norm exactly 1 (a product of orthonormal maps and permutations); ReLU's is below."""
    x = np.random.default_rng(0).normal(size=(50, 8))
    norms = {}
    for act in ("groupsort", "relu"):
        net = MLP((8, 8, 8, 1), act, dtype="float64", seed=1)
        steps.orthonormalise(net, start=True)
        norms[act] = np.linalg.norm(net.input_gradient(x), axis=1)
    assert norms["groupsort"] == pytest.approx(1.0, abs=1e-9)
    assert norms["relu"].max() < 0.99


def test_bjorck_converges_and_is_a_fixed_point_on_orthonormal_matrices():
    W = np.random.default_rng(0).normal(size=(5, 3)) * 4
    lipschitz.bjorck(W, 20, rescale=True)
    assert W.T @ W == pytest.approx(np.eye(3), abs=1e-12)
    Q = W.copy()
    lipschitz.bjorck(W, 3)
    assert W == pytest.approx(Q, abs=1e-14)


def test_wgan_gs_updates_keep_the_critic_orthonormal():
    D = MLP((2, 8, 8, 1), "groupsort", dtype="float64", seed=0)
    rng0 = np.random.default_rng(0)

    def draw(rng):
        return rng0.normal(size=(32, 2)), rng0.normal(size=(32, 2)) + 2
    fit_critic(D, make_optimizer("adam", lr=1e-2), draw, 20, method="wgan-gs")
    assert bounds.lipschitz_bound(D) == pytest.approx(1.0, abs=1e-6)


def test_groupsort_refuses_what_it_cannot_sort():
    with pytest.raises(ValueError, match="multiple of 2"):
        MLP((2, 5, 1), "groupsort")
    with pytest.raises(ValueError, match="group size"):
        get_activation("groupsort:1")
    with pytest.raises(TypeError, match="not elementwise"):
        GroupSort().df(np.zeros((1, 2)))
