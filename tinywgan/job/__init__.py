"""The main job: a Config and its presets, the parts built from it, evaluation, checkpoints,
resume, the run folder, preflight, the train/resume/sample commands; ``bench`` and the
published mode-collapse ``protocol``, which run it.

    from tinywgan.job import TrainingJob, make_config
    job = TrainingJob(make_config(dataset="ring", iters=2000))
    job.train(); print(job.evaluate())
"""
from .config import (DATASET_DEFAULTS, METHOD_DEFAULTS, METHODS, PRESETS, Config,
                     default_optimizer, make_config)
from .training import TrainingDiverged, TrainingJob, build_parts
