"""Regression (issue 14, the last outside attack): with PAINPUMP_DATA_DIR naming a directory
that does not exist, a command answered `internal error: OperationalError: unable to open
database file` with exit 1; it is a configuration error naming the directory now, exit 2, as a
weak secret key is, and nothing is created."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PAINPUMP = Path(sys.executable).parent / "painpump"


@pytest.mark.skipif(not PAINPUMP.exists(), reason="the painpump console script is not installed")
@pytest.mark.parametrize("command", [["audit", "verify"], ["roles", "list"]])
def test_regression_a_missing_data_directory_is_a_configuration_error_naming_it(
    command: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-directory"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {
        "PAINPUMP_DATA_DIR": str(missing),
        "PAINPUMP_AUDIT_CHECKPOINTS": str(tmp_path / "checkpoints.log"),
    }
    done = subprocess.run(
        [str(PAINPUMP), *command], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"configuration refused: the data directory {missing} ")
    assert "does not exist (PAINPUMP_DATA_DIR" in done.stderr
    assert "internal error" not in done.stderr
    assert not missing.exists()
