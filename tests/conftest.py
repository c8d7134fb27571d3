"""Shared test set-up: hypothesis profiles and the devices every device-path test runs on.

Profiles: ``dev`` (the default, quick), ``ci`` (more examples, no deadline: CI machines are
slow and shared; chosen when the environment variable CI is set, as CI services set it),
``stress`` (hundreds of examples, for hunting). ``HYPOTHESIS_PROFILE=name`` overrides.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=60, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("stress", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def _gpu_available():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


GPU = _gpu_available()
gpu = pytest.mark.skipif(not GPU, reason="needs CuPy and a CUDA GPU")

#: Device-path tests are parametrised over these: the strict device always, the GPU when present.
DEVICES = ["cpu", "strict"] + (["gpu"] if GPU else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param
