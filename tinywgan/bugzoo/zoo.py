r"""The zoo: each classic WGAN and WGAN-GP mistake, what goes wrong, where it was seen in public
code if it was, and the check that catches it, measured with the library's piece and with the
mistake's broken copy from the catalogue (``tinywgan.bugzoo.broken``, which the exercises'
grader uses too).

A bug is caught when its check passes with the library's piece and fails with the broken one.
``run()`` measures every bug; ``python -m tinywgan bugzoo`` prints them, draws one figure and
exits with status 1 if any bug goes uncaught.
"""
import math
import textwrap
from dataclasses import dataclass
from functools import partial
from typing import Callable, Tuple

import numpy as np

from ..measure import data
from ..core import mlp, steps
from ..core.mlp import MLP
from ..core.optim import RMSProp
from . import broken, checks


@dataclass
class Bug:
    name: str
    what: str                        # one paragraph: what goes wrong
    detector: str                    # the check, as a person would run it
    unit: str                        # its number, in a few words (the figure's axis)
    band: Tuple[float, float]        # the check passes when low <= number <= high
    measure: Callable[[object], float]   # measure(piece) -> the detector's number with piece
    library: object                      # the library's piece
    mistake: broken.Mistake              # the catalogue's mistake: its broken copy, mistake.obj
    log: bool = False                    # draw the numbers on a log axis
    seen: str = ""                       # where it was seen in public code, checked there

    def passes(self, value):
        return self.band[0] <= value <= self.band[1]

    @property
    def rule(self):
        """The band in words: '= 1', '<= 1e-06', 'in [0.75, 1.25]'."""
        low, high = self.band
        if low == high:
            return "= %g" % low
        if high == math.inf:
            return ">= %g" % low
        if low <= 0:
            return "<= %g" % high
        return "in [%g, %g]" % (low, high)


def _distinct_modes(centres):
    """The distinct mode centres of the ring ``centres()`` draws from: two closer than 3 std
    (the mode-coverage radius) count once."""
    c = centres()                                                                  # (8, 2)
    close = np.linalg.norm(c[:, None] - c[None], axis=2) < 3 * data.mode_std("8gaussians")
    return sum(not close[i, :i].any() for i in range(c.shape[0]))


STEPS = 300           # critic steps of the critic-only runs; generator iterations of the short run

#: The Lipschitz estimate's detector, its number and its band.
LIPSCHITZ = ("Lipschitz estimate: mean ||grad f|| at fresh interpolates, critic trained alone "
             "%d steps" % STEPS, "mean ||grad f||", (0.75, 1.25))


def slope_after(argument):
    """The Lipschitz estimate as a function of one argument of ``checks.critic_run`` (the
    penalty, the critic step, lam; the others at their defaults, lam 10): the mean ||grad f||
    at fresh interpolates after STEPS critic steps."""
    return lambda piece: checks.interpolate_gradient_norm(checks.critic_run(
        STEPS, **{argument: piece}))

BUGS = [
    Bug("norm over the batch",
        "The penalty needs one gradient norm per example, ||grad_x f(x_hat_i)||. Taken over the "
        "wrong axis (norm(g, axis=0)) it is one norm per input coordinate, over the batch, and "
        "holding those at 1 holds each example's gradient near sqrt(d/B): the critic ends up "
        "far flatter than 1-Lipschitz, and its W estimate far too small.",
        *LIPSCHITZ, slope_after("penalty"),
        mlp.gradient_penalty, broken.find(broken.GRADIENT_PENALTY, "norm over the wrong axis"),
        seen="jvanvugt/pytorch-domain-adaptation, wdgrl.py: gradient_penalty stacks the "
        "interpolates with the two batches into (3, B, F) and takes gradients.norm(2, dim=1), "
        "over the batch: one norm per feature; issue #8 (2021) pointed it out."),
    Bug("norm per coordinate",
        "The penalty needs one norm per example, over all its coordinates. A norm over one axis "
        "of an image's gradient (B, C, H, W) is one norm per pixel; with one channel, or here "
        "in (B, d), it is |g_ij|, one per coordinate. Holding each at 1 holds each example's "
        "gradient near sqrt(d) (here sqrt 2, for a 32 x 32 image 32): the critic ends up "
        "steeper than 1-Lipschitz, and its W estimate too large.",
        *LIPSCHITZ, slope_after("penalty"),
        mlp.gradient_penalty, broken.find(broken.GRADIENT_PENALTY, "norm per coordinate"),
        seen="Zeleni9/pytorch-wgan, models/wgan_gradient_penalty.py: gradients.norm(2, dim=1) "
        "of the (B, C, 32, 32) gradient at the interpolates; issue #40 (2022) reported it and "
        "the merged PR #48 (2023, commit 9fec344) flattens each example's gradient first. The "
        "same line was reported in caogang/wgan-gp (issue #27) and eriklindernoren/PyTorch-GAN "
        "(issue #20)."),
    Bug("eps per coordinate",
        "x_hat = eps x_real + (1 - eps) x_fake needs one eps per example, eps: (B, 1). Drawn per "
        "coordinate, (B, d), each coordinate is mixed by its own eps: x_hat is a random point "
        "inside the box spanned by the pair, almost never on the segment between them: the "
        "penalty constrains the critic where the transport does not pass. "
        "(The library's interpolates refuses eps of that shape.)",
        "the fraction of penalised points x_hat on the segment between their pair",
        "fraction on the segment", (1, 1),
        lambda draw_eps: checks.on_segment(draw_eps, broken.interpolates_unchecked),
        checks.library_eps, broken.find(broken.EPS_DRAW, "eps per coordinate"),
        seen="eriklindernoren/PyTorch-GAN: implementations/wgan_gp/wgan_gp.py drew the "
        "interpolation weight per pixel; issue #5 (2018) reported it and the maintainer fixed it "
        "in commit d2977bc, one weight per image."),
    Bug("eps from N(0, 1)",
        "eps must be uniform on [0, 1]. From a standard normal about two thirds of the x_hat "
        "fall outside the segment, beyond the real or the fake point, where nothing is "
        "transported and a 1-Lipschitz critic need not have gradient norm 1.",
        "the fraction of penalised points x_hat on the segment between their pair",
        "fraction on the segment", (1, 1),
        checks.on_segment, checks.library_eps, broken.find(broken.EPS_DRAW, "eps from N(0, 1)"),
        seen="the keras-io WGAN-GP example (keras-team/keras-io, examples/generative/wgan_gp.py): "
        "its gradient_penalty drew alpha with tf.random.normal; issues #143 (2020) and #415 "
        "(2021) reported it, and PR #1463 (2023) drew it from tf.random.uniform instead."),
    Bug("norm's gradient at 0",
        "d||g||/dg = g/||g|| is 0/0 at g = 0, and g = 0 is common: a zero-initialised last "
        "layer makes f constant, a dead ReLU unit flattens f locally. Unguarded, one such "
        "x_hat turns every weight gradient into NaN and the run is lost.",
        "NaN or inf entries of D.grads after one step at a critic with zero last layer",
        "NaN or inf entries", (0, 0),
        checks.nonfinite_gradients, mlp.gradient_penalty,
        broken.find(broken.GRADIENT_PENALTY, "NaN at g = 0")),
    Bug("penalty not backpropagated",
        "The penalty's value is added to the loss (so the logged loss looks right) but its "
        "gradient never reaches the weights: the critic trains as an unconstrained WGAN "
        "critic. A gradient check of the step against its own loss sees the missing term.",
        "gradient check: the critic step's D.grads against differences of its loss",
        "relative error", (0, 1e-6),
        checks.critic_step_check, steps.critic_grads,
        broken.find(broken.CRITIC_GRADS, "penalty not backpropagated"), log=True,
        seen="ooples/AiDotNet, issue #1844 (2026, closed): the synthetic-data GANs' "
        "ComputeGradientPenalty (CTGANGenerator.cs and four more) took the critic's input "
        "gradient in an inner tape without createGraph, so the penalty's value reached the "
        "loss and its gradient never reached the discriminator's weights."),
    Bug("penalty never called",
        "WGAN-GP's critic loss is the Wasserstein term plus the penalty. Never called, the "
        "penalty leaves no wrong gradient behind: the step is an honest WGAN step with nothing "
        "holding the critic Lipschitz, and its gradient check passes. The critic steepens "
        "without bound as it pulls the two distributions apart, and its W estimate with it.",
        *LIPSCHITZ, slope_after("critic_grads"),
        steps.critic_grads, broken.find(broken.PENALTY_NEVER_CALLED, "penalty never called"),
        log=True,
        seen="junyanz/pytorch-CycleGAN-and-pix2pix: with --gan_mode wgangp its GANLoss gives "
        "the Wasserstein terms, and models/networks.py defines cal_gradient_penalty, but "
        "neither the pix2pix nor the CycleGAN model calls it; the maintainer confirmed it in "
        "issue #1163 (2020), and issue #1201 reported it again."),
    Bug("penalty at the real points",
        "The penalty holds ||grad f|| at 1 between the real and the generated points, where "
        "the transport runs. Taken at the real points alone (eps = 1), it holds the critic on "
        "the data's modes only: at the generated points, where the generator reads its "
        "gradient, nothing holds it, and there it steepens as it trains.",
        "the fraction of fresh generated points where ||grad f|| is off 1 by more than 0.25, "
        "critic trained alone %d steps (lam 10)" % STEPS, "fraction off 1", (0, 0.05),
        lambda critic_grads: checks.off_slope_at_fakes(checks.critic_run(
            STEPS, critic_grads=critic_grads)),
        steps.critic_grads, broken.find(broken.CRITIC_GRADS, "penalty at the real points"),
        seen="labmlai/annotated_deep_learning_paper_implementations, "
        "labml_nn/gan/wasserstein/gradient_penalty/__init__.py: the annotated WGAN-GP says it "
        "sets eps = 1 and takes the penalty at the real batch, x_hat = x; its experiment.py "
        "passes the real data and the critic's scores of it."),
    Bug("s'' path dropped",
        "For a smooth activation the input gradient depends on the weights below each layer "
        "through s'(A), so the penalty's weight gradient has a second-order path (the s'' "
        "injection, tinywgan/core/mlp.py step 4). Dropped, every first-order check passes and "
        "the penalty's gradient is wrong, the hidden biases getting none at all.",
        "gradient check: a tanh critic step's D.grads against differences of its loss",
        "relative error", (0, 1e-6),
        partial(checks.critic_step_check, act="tanh"), steps.critic_grads,
        broken.find(broken.CRITIC_GRADS, "s'' path dropped"), log=True),
    Bug("clipped before the step",
        "WGAN clips the weights into [-c, c] after each optimizer step. Clipped before it, the "
        "critic computes with weights up to one step outside the box, and the Lipschitz bound "
        "that clipping was meant to give does not hold.",
        "max |w| / c after %d clipped RMSProp critic steps (lr 5e-5, c 0.01)" % STEPS,
        "max |w| / c", (0, 1),
        lambda update: float(abs(checks.critic_run(STEPS, method="wgan", opt=RMSProp(lr=5e-5),
                                                   update=update).params).max() / 0.01),
        steps.update_critic, broken.find(broken.UPDATE_CRITIC, "clipped before the step")),
    Bug("generator's sign flipped",
        "The generator must descend -mean f(G(z)), climbing the critic towards the data. With "
        "the sign flipped it runs down the critic's slope, away from the data, and the "
        "critic's estimate of W grows without bound.",
        "mean distance of G(z) to the nearest mode after %d WGAN-GP iterations" % STEPS,
        "mean distance to a mode", (0, 1.414),
        partial(checks.generator_distance, iters=STEPS), steps.generator_grads,
        broken.find(broken.GENERATOR_GRADS, "generator's sign flipped"), log=True,
        seen="Zeleni9/pytorch-wgan, models/wgan_clipping.py, since its merged PR #53 (2025): "
        "the critic keeps the reference WGAN code's signs (backward(one) on the real scores, "
        "backward(mone) on the fake: it descends on mean f(real) - mean f(fake), so a LOW score "
        "means real), and the PR turned the generator's backward(one) into backward(mone), so "
        "the generator now climbs the score its critic gives fakes (read at commit 7f5b52d). "
        "The signs are a pair's: flip the critic's and the generator's together, or neither."),
    Bug("generator fed dL/df",
        "The generator's gradient is dL/dx_fake, the loss's gradient backpropagated through the "
        "critic to its input. Fed the loss's gradient with respect to the critic's OUTPUT "
        "instead (copied onto every coordinate), the generator moves along a fixed diagonal "
        "whatever the critic says: a generator that never learns the data.",
        "gradient check: the generator step's G.grads against differences of its loss",
        "relative error", (0, 1e-6),
        checks.generator_step_check, steps.generator_grads,
        broken.find(broken.GENERATOR_GRADS, "generator fed dL/df"), log=True,
        seen="numpy-ml (ddbourgin/numpy-ml), numpy_ml/neural_nets/models/wgan_gp.py: "
        "update_generator takes the loss -mean f(x_fake) and passes its gradient with respect "
        "to the critic's scores, -1/n for every example, straight into the generator's backward "
        "pass; nothing goes through the critic."),
    Bug("critic's sign flipped",
        "The critic maximises mean f(real) - mean f(fake), so it descends on the negative. With "
        "the sign flipped it learns -f: its estimate of W is negative, and a generator "
        "following it moves away from the data.",
        "the critic's W estimate, mean f(real) - mean f(fake), after %d steps alone" % STEPS,
        "W estimate", (0, math.inf),
        lambda critic_grads: checks.w_estimate(checks.critic_run(STEPS,
                                                                 critic_grads=critic_grads)),
        steps.critic_grads, broken.find(broken.CRITIC_GRADS, "critic's sign flipped")),
    Bug("lambda 0.1, not 10",
        "lambda 10 is the WGAN-GP paper's weight; the toy code's 0.1 is far weaker. The "
        "Wasserstein term pulls the critic's slope up with the distance between the "
        "distributions, the penalty back with 2 lambda (||g|| - 1): at 0.1 the critic settles "
        "several times steeper than 1-Lipschitz and overestimates W as much.",
        *LIPSCHITZ, slope_after("lam"),
        10.0, broken.find(broken.PENALTY_WEIGHT, "lambda 0.1, not 10")),
    Bug("batch-normalised critic",
        "The penalty holds grad_x f(x_i), the slope of one example's score at that example: it "
        "exists only if f(x_i) depends on x_i alone. Batch normalisation standardises each "
        "unit over the batch, so every score depends on every example of the batch: what the "
        "penalty holds is no longer the critic's slope at x_i, nor the critic a function of one "
        "point (Gulrajani et al. 2017, 'Improved Training of Wasserstein GANs', section 4: no "
        "critic batch normalisation).",
        "the largest change of f(x_i) when the other half of the batch is swapped, a critic "
        "at its initial weights", "largest change of f(x_i)", (0, 1e-12),
        checks.batch_coupling, MLP, broken.find(broken.CRITIC_NET, "batch-normalised critic"),
        seen="eriklindernoren/Keras-GAN, wgan_gp/wgan_gp.py: build_critic puts "
        "BatchNormalization(momentum=0.8) after three of its four convolutions; issue #48 "
        "(2018) asked why, against the paper, and PR #66 removes them."),
    Bug("ring from linspace",
        "Centres at angles linspace(0, 2 pi, 8) include both 0 and 2 pi: seven distinct modes, "
        "the first twice, with twice the mass (published mode-collapse benchmarks used this "
        "ring). Scored against those centres, a generator that covers seven modes scores 8 of "
        "8: the benchmark's '8 modes' measures 7.",
        "distinct mode centres of the ring (two within 3 std count once)",
        "distinct centres", (8, 8), _distinct_modes, partial(data.centres, "8gaussians"),
        broken.find(broken.RING_CENTRES, "ring from linspace")),
]


def run(names=None):
    """Measure each bug (all, or those named). Returns a list of dicts: name, library, bug
    (the detector's numbers), library_passes, caught (the check passes with the library's
    piece and fails with the broken one)."""
    chosen = [b for b in BUGS if names is None or b.name in names]
    rows = []
    for b in chosen:
        clean, buggy = float(b.measure(b.library)), float(b.measure(b.mistake.obj))
        rows.append({"name": b.name, "library": clean, "bug": buggy, "rule": b.rule,
                     "library_passes": b.passes(clean),
                     "caught": b.passes(clean) and not b.passes(buggy)})
    return rows


def describe(row, width=95):
    """A bug's paragraph, its detector and the two numbers, and where it was seen, for a
    person."""
    b = next(b for b in BUGS if b.name == row["name"])
    verdict = "caught" if row["caught"] else (
        "NOT CAUGHT" if row["library_passes"] else "CHECK FAILS WITHOUT THE BUG")
    paragraphs = [b.what, "check: %s (passes when %s): %.4g with the library, %.4g with the "
                  "bug." % (b.detector, b.rule, row["library"], row["bug"])]
    if b.seen:
        paragraphs.append("seen in " + b.seen)
    return "\n".join([b.name.upper() + ": " + verdict] + [
        textwrap.fill(p, width, initial_indent="  ", subsequent_indent="  ") for p in paragraphs])


def format_table(rows):
    """One line per bug: the check's number without and with it, and whether it was caught
    (``tinywgan.measure.texttable``'s layout)."""
    from ..measure.texttable import format_table as layout
    return layout(["bug", "library", "with the bug", "caught"],
                  [[r["name"], "%.4g" % r["library"], "%.4g" % r["bug"],
                    "yes" if r["caught"] else "NO"] for r in rows],
                  right=(1, 2), min_widths=(0, 12, 12))
