"""The figures' threshold and the idle period: a bad value stops the process at start."""

import pytest

from tests.support.processes import assert_refused, production_env, run_python  # noqa: F401  (fixture)

PRINT = "import django; django.setup(); from django.conf import settings; print(settings.STATISTICS_MIN_CELL, settings.OVERSIGHT_IDLE_DAYS)"


def test_the_threshold_and_idle_period_default_to_five_and_ninety(production_env):  # noqa: F811
    result = run_python(production_env, PRINT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "90"]


def test_the_threshold_and_idle_period_are_read_from_the_environment(production_env):  # noqa: F811
    result = run_python(production_env | {"STATISTICS_MIN_CELL": "10", "OVERSIGHT_IDLE_DAYS": "30"}, PRINT)
    assert result.stdout.split() == ["10", "30"]


@pytest.mark.parametrize("variable", ["STATISTICS_MIN_CELL", "OVERSIGHT_IDLE_DAYS"])
@pytest.mark.parametrize("value", ["0", "-3", "five"])
def test_a_bad_value_stops_the_process(production_env, variable, value):  # noqa: F811
    assert_refused(run_python(production_env | {variable: value}, PRINT), variable)
