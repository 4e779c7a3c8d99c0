"""Crashes and company (issue #23): `kill -9` at random moments of runs, then reruns, give the
record set of an uninterrupted archive and a sound audit; writers started together with
`--wait` queue and all finish."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile import good_text

from archive import ocfl
from archive.audit import audit
from archive.export import iter_records

DOCCLEAN = Path(sys.executable).parent / "docclean"
KILLS = int(os.environ.get("DOCCLEAN_KILLS", "5"))


def _run(paths: list[Path], root: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([str(DOCCLEAN), "run", *map(str, paths), "--archive", str(root), "--quiet",
                             "--jobs", "1", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err


def _record_set(root: Path) -> set[tuple[str, str]]:
    return {(r["id"], r["text_sha256"]) for r in iter_records(root)}


@pytest.fixture(scope="module")
def inputs(seed_paths, tmp_path_factory) -> tuple[list[Path], list[Path]]:
    """Two phases: a first run's inputs, and a second run's (the first plus new ones)."""
    folder = tmp_path_factory.mktemp("inputs")
    extra = []
    for n in range(30):
        path = folder / f"doc-{n:03d}.txt"
        path.write_text(good_text(n) * 20, encoding="utf-8")
        extra.append(path)
    first = [*seed_paths[:3], *extra[:15]]
    return first, [*first, *seed_paths[3:], *extra[15:]]


def test_kill_9_at_random_moments_then_rerun(inputs, tmp_path):
    first, second = inputs
    reference = tmp_path / "reference"
    start = time.monotonic()
    _finish(_run(first, reference))
    span = time.monotonic() - start
    _finish(_run(second, reference))
    expected = _record_set(reference)
    assert len(expected) == len(second)

    root = tmp_path / "a"
    rnd = random.Random(int(os.environ.get("DOCCLEAN_KILL_SEED", "23")))
    moments = []
    for _ in range(KILLS):
        phase = rnd.choice((first, second))
        delay = rnd.uniform(0.1, span)
        proc = _run(phase, root)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)               # the run and its workers, at once
        proc.wait()
        moments.append((len(phase), round(delay, 2), proc.returncode))
    print("kills (inputs, seconds, exit):", moments)
    _finish(_run(first, root))
    _finish(_run(second, root))
    assert _record_set(root) == expected
    assert audit(root) == []
    assert not list((root / ocfl.EXTENSIONS / ocfl.STAGING).glob("cli-*"))


def test_writers_started_together_queue_with_wait(inputs, tmp_path):
    first, second = inputs
    groups = [second[i::3] for i in range(3)]
    root = tmp_path / "a"
    ocfl.init_root(root)
    procs = [_run(group, root, "--wait", "240") for group in groups]
    for proc in procs:
        _finish(proc)
    assert len(_record_set(root)) == len(second)
    entries, breaks = ocfl.read_ledger(root)
    assert len(entries) == 3 and breaks == []
    assert audit(root) == []
    shutil.rmtree(root)
