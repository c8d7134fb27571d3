r"""The bug zoo: the classic WGAN and WGAN-GP mistakes, each made on a copy of the library's
piece (never as a flag inside the library), and the check that catches each one.

    python -m tinywgan bugzoo            # every bug: what goes wrong, the check, its numbers

- ``tinywgan.bugzoo.broken``: the catalogue of known mistakes, the zoo's and the exercises'
  alike, each once: its name, its hint and the broken copy of the piece, which takes the
  piece's arguments (``dropped_second_order(act)``, ``head_norm_over_batch``, ``CRITIC_GRADS``
  ...);
- ``tinywgan.bugzoo.zoo``: for each bug one paragraph on what goes wrong, its detector (a
  gradient-check row, a Lipschitz estimate, a metric after a short run) and that detector's
  number with the library's piece and with the catalogue's broken copy, and, for the mistakes
  seen in public code, where (the project and its file, issue or commit);
- ``tinywgan.bugzoo.checks``: the detectors' small runs.

The exercises' grader (``tinywgan.exercises``) takes each exercise's known mistakes from the
same catalogue, to name the mistake a learner's answer matches.
"""
from .broken import dropped_second_order

__all__ = ["dropped_second_order"]
