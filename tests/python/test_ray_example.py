"""The Ray Data example: lwai actors on a local Ray instance score the digits like a plain loop."""

import subprocess
import sys

import pytest
from conftest import REPO

EXAMPLE = REPO / "python" / "examples" / "ray_batch_inference.py"


def test_ray_actors_give_the_outputs_of_a_plain_loop():
    pytest.importorskip("ray")
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--actors", "2", "--batch-size", "50"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ray (2 actors): accuracy 0.98" in result.stdout
    assert "the same outputs as a plain loop" in result.stdout
