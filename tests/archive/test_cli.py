"""The CLI says what happened: exit codes (0 done, 1 could not, 2 usage), unknown run ids,
`export --run`, runs with no readable input, --jobs bounds, -v/-q anywhere, the progress bar
over every phase. Real archives made from seeds/, no mocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _cli import run as _run

from archive.cli import EXIT_CODES, PhaseBar, main

BIN = Path(sys.executable).parent



@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, seed_paths) -> tuple[Path, str, str]:
    """An archive of two runs: seeds 0-1, then seeds 2-4; the two run ids."""
    root = tmp_path_factory.mktemp("cli") / "archive"
    assert main(["run", *map(str, seed_paths[:2]), "--archive", str(root), "-q"]) == 0
    first = {p.name for p in root.glob("run-*")}
    assert main(["run", *map(str, seed_paths), "--archive", str(root), "-q"]) == 0
    (second,) = {p.name for p in root.glob("run-*")} - first
    return root, first.pop(), second


def test_unknown_run_id_is_a_usage_error_in_audit_and_export(two_runs, capsys, tmp_path):
    root, first, _ = two_runs
    code, out, err = _run(capsys, "audit", str(root), "--run", "run-nope")
    assert code == 2 and "sound" not in out
    assert "run-nope" in err and first in err            # names the runs it does have
    code, out, err = _run(capsys, "export", str(root), "--run", "run-nope")
    assert code == 2 and out == "" and "run-nope" in err
    code, out, err = _run(capsys, "export", str(root), "--run", "run-nope", "--bagit", str(tmp_path / "bag"))
    assert code == 2 and not (tmp_path / "bag").exists()
    assert _run(capsys, "audit", str(root), "--run", first)[0] == 0


def test_export_run_filters_records_with_or_without_bagit(two_runs, capsys, tmp_path, seed_paths):
    root, first, second = two_runs
    every = [json.loads(line) for line in _run(capsys, "export", str(root))[1].splitlines()]
    assert len(every) == 5
    firsts = [json.loads(line) for line in _run(capsys, "export", str(root), "--run", first)[1].splitlines()]
    seconds = [json.loads(line) for line in _run(capsys, "export", str(root), "--run", second)[1].splitlines()]
    assert len(firsts) == 2 and len(seconds) == 3
    assert {r["id"] for r in firsts} | {r["id"] for r in seconds} == {r["id"] for r in every}
    assert sorted(Path(r["sources"][0]["path"]).name for r in firsts) == [p.name for p in seed_paths[:2]]
    code, out, _ = _run(capsys, "export", str(root), "--run", first, "--bagit", str(tmp_path / "bag"))
    assert code == 0
    assert len(list((tmp_path / "bag" / "data" / "records").glob("*.json"))) == 2


def test_run_with_no_readable_input_fails_and_writes_nothing(tmp_path, capsys):
    root = tmp_path / "a"
    code, out, err = _run(capsys, "run", str(tmp_path / "typo"), "--archive", str(root))
    assert code == 1
    assert "typo" in err and "nothing written" in err
    assert not root.exists()
    (tmp_path / "empty").mkdir()
    code, _, err = _run(capsys, "run", str(tmp_path / "empty"), str(tmp_path / "nope-*.txt"), "--archive", str(root))
    assert code == 1 and "nope-*.txt" in err and not root.exists()


def test_some_missing_among_several_are_rejected_named_and_the_run_succeeds(seed_paths, tmp_path, capsys):
    root = tmp_path / "a"
    code, out, err = _run(capsys, "run", str(seed_paths[0]), str(tmp_path / "typo.txt"), "--archive", str(root))
    assert code == 0
    assert "typo.txt" in err and "recorded as rejected" in err
    assert "1 archived" in out and "1 rejected" in out


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_below_one_or_not_a_number_is_a_usage_error(jobs, seed_paths, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(seed_paths[0]), "--archive", str(tmp_path / "a"), "--jobs", jobs])
    assert exit_.value.code == 2
    assert "--jobs" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_many_jobs_start_no_more_workers_than_the_work_needs(tmp_path, capsys):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for n in range(20):   # enough for a pool (16), fewer chunks (3) than --jobs
        (inbox / f"{n}.txt").write_text(f"第{n}號文件。數字政府建設的實施意見。\n", encoding="utf-8")
    code, out, _ = _run(capsys, "run", str(inbox), "--archive", str(tmp_path / "a"), "--jobs", "1000", "-q")
    assert code == 0 and "20 archived" in out


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_and_quiet_before_or_after_the_command(where, seed_paths, tmp_path, capsys):
    root = tmp_path / "a"
    argv = ["run", str(seed_paths[0]), "--archive", str(root)]
    code, out, err = _run(capsys, *(["-q", *argv] if where == "before" else [*argv, "-q"]))
    assert code == 0 and str(seed_paths[0]) not in out        # quiet: no per-document line
    code, out, err = _run(capsys, *(["-v", "audit", str(root)] if where == "before" else ["audit", str(root), "-v"]))
    assert code == 0 and "sound" in out
    code, out, err = _run(capsys, *(["-q", "audit", str(root)] if where == "before" else ["audit", str(root), "-q"]))
    assert code == 0 and out == ""


def test_exit_codes_are_in_the_help_of_every_command():
    for argv in (["--help"], ["run", "--help"], ["audit", "--help"], ["export", "--help"], ["clean", "--help"]):
        proc = subprocess.run([str(BIN / "docclean"), *argv], capture_output=True, text=True)
        assert proc.returncode == 0
        for line in EXIT_CODES.splitlines()[1:4:2]:
            assert line.strip() in proc.stdout, argv
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "0 done" in readme and "1 could not" in readme and "2 usage" in readme


def test_usage_errors_exit_2_as_a_command(tmp_path):
    proc = subprocess.run([str(BIN / "docclean"), "frobnicate"], capture_output=True, text=True)
    assert proc.returncode == 2
    proc = subprocess.run([str(BIN / "docclean"), "audit", str(tmp_path), "--run", "x"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "not an OCFL storage root" in proc.stdout


def test_progress_bar_labels_every_phase(seed_paths, tmp_path):
    """On a terminal, the bar goes through cleaning, linking and writing (a pty makes stderr one)."""
    import fcntl
    import pty
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:   # the child: docclean with stderr on a 120-column pty (tqdm draws nothing in 0 columns)
        fcntl.ioctl(2, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execv(str(BIN / "docclean"), [str(BIN / "docclean"), "run", *map(str, seed_paths),
                                         "--archive", str(tmp_path / "a")])
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    for label in ("cleaning:", "linking:", "writing:"):
        assert label in text, text


def test_phase_bar_follows_phases_in_order():
    seen = []

    class Recording(PhaseBar):
        def __call__(self, phase, done, total):
            super().__call__(phase, done, total)
            seen.append((self.bar.desc, self.bar.n, self.bar.total))

    bar = Recording()
    for call in (("clean", 1, 2), ("clean", 2, 2), ("link", 0, 2), ("link", 2, 2), ("write", 1, 2)):
        bar(*call)
    bar.close()
    assert seen == [("cleaning", 1, 2), ("cleaning", 2, 2), ("linking", 0, 2), ("linking", 2, 2),
                    ("writing", 1, 2)]
