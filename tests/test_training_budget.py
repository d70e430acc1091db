"""The budget of a run, before it starts: estimates against measured peaks, refusals at their boundary."""

from dataclasses import replace

import pytest

from resnet_core.errors import UserError
from resnet_core.training import TrainConfig
from resnet_core.training_budget import check, estimate
from resnet_core.training_runs import RunManager

TINY = TrainConfig(depth=8, width=0.5, image_size=16, train_size=64, val_size=20, batch_size=16, epochs=2)
FACTOR = 2.0  # README: measured peaks lie within a factor of 2 of the estimate


@pytest.fixture(scope="module")
def measured() -> list:
    """Three small configs trained by worker processes, which report their own peak memory."""
    configs = [
        replace(TINY, depth=20, width=1.0, image_size=32, batch_size=64, train_size=128, steps=2),
        replace(TINY, depth=32, width=1.0, image_size=48, batch_size=32, train_size=64, steps=2, optimizer="adam"),
        replace(TINY, depth=8, width=2.0, image_size=64, batch_size=32, train_size=1000, val_size=200, steps=2),
    ]
    manager = RunManager(max_running=1)
    runs = [manager.start(config) for config in configs]
    for run in runs:
        while run.active:
            run.stop_event.wait(0.05)
    assert [run.status for run in runs] == ["done"] * 3, [run.error for run in runs]
    return runs


def test_estimated_memory_is_within_the_stated_factor_of_the_measured_peak(measured):
    for run in measured:
        ratio = run.budget.memory_mb / run.peak_mb
        assert 1 / FACTOR <= ratio <= FACTOR, (run.config, run.budget.memory_mb, run.peak_mb)


def test_memory_grows_with_batch_image_size_width_and_data():
    base = estimate(TINY).memory_mb
    for bigger in (dict(batch_size=64), dict(image_size=32), dict(width=1.0), dict(train_size=20_000)):
        assert estimate(replace(TINY, **bigger)).memory_mb > base, bigger


def test_the_largest_batch_size_named_in_a_refusal_fits_and_one_more_does_not():
    config = replace(TINY, depth=56, width=1.0, image_size=64, batch_size=256, train_size=512)
    limit = 600.0
    with pytest.raises(UserError, match=r"batch size of at most (\d+)") as refused:
        check(config, limit, None)
    largest = int(refused.value.args[0].rsplit(" ", 1)[1])
    assert estimate(replace(config, batch_size=largest)).memory_mb <= limit
    assert estimate(replace(config, batch_size=largest + 1)).memory_mb > limit


def test_the_most_epochs_named_in_a_refusal_fit_the_time_limit_and_one_more_does_not():
    config = replace(TINY, epochs=10_000)
    limit = 60.0
    with pytest.raises(UserError, match=r"at most (\d+) epochs") as refused:
        check(config, None, limit)
    most = int(refused.value.args[0].split("at most ")[1].split()[0])
    assert estimate(replace(config, epochs=most)).seconds <= limit < estimate(replace(config, epochs=most + 1)).seconds


def test_refusals_name_the_callers_labels():
    with pytest.raises(UserError, match="--batch-size of at most"):
        check(replace(TINY, batch_size=64, image_size=224), 100.0, None, labels={"batch_size": "--batch-size"})


def test_estimates_made_at_the_same_moment_by_many_sessions_agree():
    from concurrent.futures import ThreadPoolExecutor

    configs = [replace(TINY, depth=56, width=w, image_size=s) for w in (1.0, 2.0) for s in (32, 64)]
    alone = [estimate(c).memory_mb for c in configs]
    from resnet_core import training_budget

    training_budget._count_at.cache_clear()  # count again, this time all at once
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda c: estimate(c).memory_mb, configs * 2))
    assert together == alone * 2
