import subprocess
import sys

from workbench.labs._memory import MemorySampler


def test_counts_processes_of_the_workspace_and_ignores_others(tmp_path):
    grow = "import time; block = bytearray(150 * 1024 * 1024); time.sleep(1.5)"
    env = {"WORKBENCH_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    with MemorySampler(str(tmp_path), interval=0.1) as ours:
        subprocess.run([sys.executable, "-c", grow], env=env, check=True)
    assert ours.peak_rss_mb > 150
    assert 150 < ours.peak_pss_mb <= ours.peak_rss_mb + 1
    with MemorySampler(str(tmp_path / "other"), interval=0.1) as theirs:
        subprocess.run([sys.executable, "-c", grow], env=env, check=True)
    assert theirs.peak_rss_mb == 0
