"""``hyperreg grid`` / ``random`` on a real Dask cluster (a LocalCluster of two worker processes): every point
equals the local run's."""

from __future__ import annotations

import json
import logging

import pytest

from hyperreg.cli import main

distributed = pytest.importorskip("distributed")

TINY = ["--sizes", "4", "--epochs", "1", "--batch", "50"]
AXES = ["--axis", "l2=1e-4:1e-2:2", "--axis", "noise=0.05,0.2"]
TIMING = ("seconds", "wall_seconds")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as c:
        yield c


def _points(path):
    doc = json.loads(path.read_text())
    return [{k: v for k, v in p.items() if k not in TIMING} for p in doc["points"]]


@pytest.mark.parametrize("kind, extra", [("grid", AXES), ("random", [*AXES, "--n", "3"])])
def test_sweep_on_a_dask_cluster_equals_the_local_sweep(kind, extra, cluster, tmp_path, monkeypatch):
    assert main([kind, *TINY, *extra, "--out", str(tmp_path / "local")]) == 0
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
    with distributed.Client(cluster) as client, distributed.get_task_stream(client) as tasks:
        assert main([kind, *TINY, *extra, "--joblib-backend", "dask", "--out", str(tmp_path / "dask")]) == 0
    workers = {t["worker"] for t in tasks.data}
    assert len(tasks.data) >= 1 and workers <= set(cluster.scheduler_info["workers"])  # it ran over there
    local, remote = _points(tmp_path / "local" / "grid.json"), _points(tmp_path / "dask" / "grid.json")
    assert len(local) == (4 if kind == "grid" else 3) and remote == local
