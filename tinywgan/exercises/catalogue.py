"""The exercises in teaching order, one workbook file after another: the one list that
``exercises init``, ``check``, ``show`` and ``list`` read."""
from . import ex_layers, ex_mlp, ex_optim, ex_penalty, ex_steps

#: Every exercise, in the order a learner meets them.
EXERCISES = (ex_layers.EXERCISES + ex_mlp.EXERCISES + ex_penalty.EXERCISES + ex_steps.EXERCISES
             + ex_optim.EXERCISES)

#: The workbook's files, in order (each exercise's ``file`` is one of them).
FILES = tuple(dict.fromkeys(ex.file for ex in EXERCISES))


def find(name):
    """The exercise called ``name`` (any case), or a ValueError listing them all."""
    for ex in EXERCISES:
        if ex.name.lower() == str(name).lower():
            return ex
    raise ValueError("no exercise called %r; the exercises are: %s"
                     % (name, ", ".join(ex.name for ex in EXERCISES)))
