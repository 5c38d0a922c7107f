"""Production serving settings: the figures replica router and the pool's exclusions."""

import os
import subprocess
import sys

from coalition.oversight import replica
from coalition.oversight.replica import StatisticsReplicaRouter, statistics_reads
from referrals.models import Referral


def test_only_reads_inside_statistics_reads_go_to_the_replica(monkeypatch):
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    router = StatisticsReplicaRouter()
    assert router.db_for_read(Referral) is None
    with statistics_reads():
        assert router.db_for_read(Referral) == "replica"
        assert router.db_for_write(Referral) == "default"
    assert router.db_for_read(Referral) is None
    assert router.allow_migrate("replica", "referrals") is False


def test_without_a_replica_figures_are_read_from_default():
    with statistics_reads():
        assert StatisticsReplicaRouter().db_for_read(Referral) is None


def _settings_error(**env) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "coalition.settings", "DEBUG": "true"} | env,
        capture_output=True, text=True,
    )
    return result.stderr


def test_a_pool_and_persistent_connections_are_refused_together():
    error = _settings_error(DATABASE_URL="postgres://u@127.0.0.1/x", DATABASE_POOL="true", DATABASE_CONN_MAX_AGE="60")
    assert "exclude each other" in error


def test_a_pool_needs_postgresql():
    assert "needs PostgreSQL" in _settings_error(DATABASE_URL="sqlite:///x.db", DATABASE_POOL="true")
