r"""The bug zoo: the classic WGAN and WGAN-GP mistakes, each made on a copy of the library's
piece (never as a flag inside the library), and the check that catches each one.

    python -m tinywgan bugzoo            # every bug: what goes wrong, the check, its numbers

- ``tinywgan.bugzoo.broken``: the broken copies, each with the signature of the piece it
  breaks (``dropped_second_order(act)``, ``head_norm_over_batch``, ``critic_loss_flipped`` ...);
- ``tinywgan.bugzoo.zoo``: for each bug one paragraph on what goes wrong, its detector (a
  gradient-check row, a Lipschitz estimate, a metric after a short run) and that detector's
  number with the library's piece and with the broken one;
- ``tinywgan.bugzoo.checks``: the detectors' small runs.

The exercises' grader (``tinywgan.exercises``) also compares a learner's answer with these
copies to name a known mistake.
"""
from .broken import dropped_second_order

__all__ = ["dropped_second_order"]
