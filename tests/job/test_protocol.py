"""The mode-collapse protocol (tinywgan.job.protocol, `python -m tinywgan table`): its data, its
three scores on samples whose answers are known, the mean +- standard error, and the command on
a tiny budget (the protocol itself takes an hour; its numbers are in the README)."""
import json
import math

import numpy as np
import pytest

from tinywgan import backend
from tinywgan.measure import data, metrics
from tinywgan.job import protocol
from tinywgan.cli import main


def test_the_protocols_data_are_unscaled_with_distinct_centres():
    ring, grid = data.centres("ring"), data.centres("grid")
    assert len({tuple(np.round(c, 12)) for c in ring}) == 8                 # 8 distinct
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 1.0)
    assert {tuple(c) for c in grid} == {(i, j) for i in range(-4, 5, 2) for j in range(-4, 5, 2)}
    assert (data.mode_std("ring"), data.mode_std("grid")) == (0.01, 0.05)
    x = backend.to_numpy(data.sample("grid", 20000, backend.rng(np, 0, "t"), np.float64))
    resid = x - grid[np.argmin(((x[:, None] - grid[None]) ** 2).sum(-1), axis=1)]
    assert resid.std() == pytest.approx(0.05, rel=0.02)


@pytest.mark.parametrize("dataset", protocol.DATASETS)
def test_real_samples_score_as_perfect_samples_should(dataset):
    """Real data: every mode, 1 - exp(-4.5) = 98.9 % high quality (binomial s.e. 0.2 % at
    2 500), and a reverse KL of sampling noise only (a multinomial's: ~ (K - 1) / (2 n))."""
    x = data.sample(dataset, protocol.N_SAMPLES, backend.rng(np, 1, "real"), np.float64)
    s = protocol.score(x, dataset)
    K = s["modes_total"]
    assert s["modes"] == K == (8 if dataset == "ring" else 25)
    assert abs(s["high_quality"] - (1 - math.exp(-4.5))) < 4 * 0.0021
    assert 0 <= s["reverse_kl"] < 5 * (K - 1) / (2 * protocol.N_SAMPLES)


def test_reverse_kl_is_log_k_over_m_for_an_even_spread_over_m_modes():
    c = data.centres("grid")
    assert metrics.mode_reverse_kl(np.bincount([0, 1, 2, 3] * 5, minlength=25)) == \
        pytest.approx(math.log(25 / 4), rel=1e-14)
    collapsed = protocol.score(np.repeat(c[7:8], 100, axis=0), "grid")
    assert (collapsed["modes"], collapsed["high_quality"]) == (1, 1.0)
    assert collapsed["reverse_kl"] == pytest.approx(math.log(25), rel=1e-14)
    assert protocol.score(c + 1.0, "grid")["reverse_kl"] is None       # nothing high quality
    with pytest.raises(ValueError, match="counts"):
        metrics.mode_reverse_kl([1, -1])


def test_mean_and_standard_error():
    assert protocol._mean_se([1.0, 2.0, 3.0]) == (2.0, pytest.approx(1 / math.sqrt(3)))
    assert protocol._mean_se([None, 4.0]) == (4.0, 0.0)
    assert protocol._mean_se([None]) == (None, None)


def test_the_table_command_on_a_tiny_budget(tmp_path, capsys):
    """Two rows, two seeds, 5 iterations, two worker processes: the progress lines, tinywgan's
    rows beside every published one, the protocols named, the figure; --json the same numbers."""
    fig = tmp_path / "t.png"
    assert main(["table", "--iters", "5", "--seeds", "2", "--methods", "WGAN-GP", "GAN + R1",
                 "--figure", str(fig)]) == 0
    out = capsys.readouterr().out
    assert out.count("] ring ") + out.count("] grid ") == 8                  # progress lines
    assert "tinywgan (2 seeds)  WGAN-GP" in out and "tinywgan (2 seeds)  GAN + R1" in out
    for source, method, _ in protocol.PUBLISHED:
        assert source in out and method in out
    assert "Protocols:" in out and "PacGAN Table 1: Lin et al. 2018" in out
    assert fig.stat().st_size > 10_000

    assert main(["table", "--iters", "5", "--seeds", "2", "--methods", "GAN", "--datasets",
                 "ring", "--jobs", "1", "--json", "--no-figure"]) == 0
    doc = json.loads(capsys.readouterr().out)
    gan = doc["summary"]["ring"]["GAN"]
    assert gan["runs"] == 2 and gan["iters"] == 5 and 0 <= gan["modes"] <= 8
    assert [r["seed"] for r in doc["runs"]] == [0, 1]
    assert doc["published"][-1]["ring"] == {"modes": 7.8, "high_quality": 95.9,
                                            "reverse_kl": 0.07}


def test_the_table_command_refuses_bad_arguments(capsys):
    assert main(["table", "--seeds", "0", "--no-figure"]) == 2
    assert "seeds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["table", "--methods", "VEEGAN"])
