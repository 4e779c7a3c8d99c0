"""Input safety (issue #23): regular files only, symlinks kept inside the input folder, nothing
skipped in silence, sizes checked before reading, an optional allow-list of input roots."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from archive import flow
from archive.cli import main
from archive.reader import Missing, discover, read

DOCCLEAN = Path(sys.executable).parent / "docclean"


def _fates(root: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(root.glob("run-*/v1/content/metadata/dispositions.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            out[Path(d["path"]).name] = d
    return out


@pytest.fixture()
def hostile_inbox(seed_paths, tmp_path) -> Path:
    inbox = tmp_path / "in"
    (inbox / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text("外面的秘密文件，不应被归档。", encoding="utf-8")
    (outside / "dir" / "also.txt").write_text("外面目录里的文件。", encoding="utf-8")
    (inbox / "good.txt").write_bytes(seed_paths[0].read_bytes())
    (inbox / "sub" / "inner.txt").write_bytes(seed_paths[1].read_bytes())
    os.mkfifo(inbox / "pipe.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(inbox / "sock"))
    sock.close()
    (inbox / "leak.txt").symlink_to(outside / "secret.txt")
    (inbox / "leakdir").symlink_to(outside / "dir")
    (inbox / "inside.txt").symlink_to(inbox / "sub" / "inner.txt")     # same file: one input
    (inbox / "loop").symlink_to(inbox)
    return inbox


def test_fifos_sockets_and_escaping_symlinks_are_rejected_with_reasons(hostile_inbox, tmp_path):
    root = tmp_path / "a"
    # a subprocess with a timeout: a FIFO that blocks the reader would hang a test in-process
    proc = subprocess.run([str(DOCCLEAN), "run", str(hostile_inbox), "--archive", str(root), "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    fate = _fates(root)
    assert fate["good.txt"]["disposition"] == "archived"
    # a symlink inside the folder is followed; it and its target are one input, listed once
    assert [fate[n]["disposition"] for n in ("inside.txt", "inner.txt") if n in fate] == ["archived"]
    assert (fate["pipe.txt"]["disposition"], fate["pipe.txt"]["reason"]) == ("rejected", "not_a_regular_file")
    assert fate["sock"]["reason"] == "not_a_regular_file"
    assert fate["leak.txt"]["reason"] == "symlink_outside_root"
    assert fate["leakdir"]["reason"] == "symlink_outside_root"
    exported = subprocess.run([str(DOCCLEAN), "export", str(root)], capture_output=True, text=True)
    assert "秘密" not in exported.stdout and "外面目录" not in exported.stdout
    assert subprocess.run([str(DOCCLEAN), "audit", str(root)], capture_output=True).returncode == 0


def test_an_oversized_input_is_rejected_unread_and_not_stored(seed_paths, tmp_path, capsys):
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "small.txt").write_bytes(seed_paths[2].read_bytes())
    big = inbox / "big.txt"
    big.write_bytes(("大" * 4000).encode())
    config = tmp_path / "c.toml"
    config.write_text(f"[decode]\nmax_bytes = {len(seed_paths[2].read_bytes()) + 10}\n")
    root = tmp_path / "a"
    assert main(["run", str(inbox), "--archive", str(root), "--config", str(config), "--quiet"]) == 0
    fate = _fates(root)
    assert fate["small.txt"]["disposition"] == "archived"
    d = fate["big.txt"]
    assert (d["disposition"], d["reason"], d["bytes"]) == ("rejected", "too_large", 12000)
    assert d["sha256"] is None and "raw" not in d
    assert len(list(root.glob("run-*/v1/content/raw/*"))) == 1       # only the small input's


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file and folder")
def test_unreadable_files_and_folders_are_recorded(seed_paths, tmp_path):
    inbox = tmp_path / "in"
    (inbox / "closed").mkdir(parents=True)
    (inbox / "closed" / "x.txt").write_text("看不见。", encoding="utf-8")
    (inbox / "locked.txt").write_text("锁住的。", encoding="utf-8")
    os.chmod(inbox / "closed", 0)
    os.chmod(inbox / "locked.txt", 0)
    try:
        items = list(discover([inbox]))
    finally:
        os.chmod(inbox / "closed", 0o755)
    assert [(Path(m.path).name, m.reason) for m in items if isinstance(m, Missing)] == [
        ("closed", "unreadable")]
    assert read(inbox / "locked.txt").reason == "unreadable"


def test_the_allow_list_limits_the_cli_and_the_dag(seed_paths, tmp_path, monkeypatch):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "ok.txt").write_bytes(seed_paths[0].read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "no.txt").write_bytes(seed_paths[1].read_bytes())
    monkeypatch.setenv("DOCCLEAN_INPUT_ROOTS", str(allowed))
    root = tmp_path / "a"
    assert main(["run", str(allowed), str(elsewhere / "no.txt"), "/etc/hostname",
                 "--archive", str(root), "--quiet"]) == 0
    fate = _fates(root)
    assert fate["ok.txt"]["disposition"] == "archived"
    assert fate["no.txt"]["reason"] == "outside_input_roots"
    assert fate["hostname"]["reason"] == "outside_input_roots" and fate["hostname"]["sha256"] is None
    with pytest.raises(ValueError, match="outside the allowed input roots"):
        flow.discover_batches("/etc", tmp_path / "b", 10, "r")
    assert flow.discover_batches(allowed, tmp_path / "b", 10, "r")


def test_the_dag_path_records_what_the_cli_records(hostile_inbox, tmp_path):
    name = os.fsdecode(b"bad\xff\xfename.txt")
    (hostile_inbox / name).write_text("名字不是UTF-8的文件。", encoding="utf-8")
    root = tmp_path / "a"
    batches = flow.discover_batches(hostile_inbox, root, 4, "r")
    summary = flow.commit_batches([flow.clean_batch(b) for b in batches], root)
    fate = {Path(d["path"]).name: d for d in summary.dispositions}
    assert fate["pipe.txt"]["reason"] == "not_a_regular_file"
    assert fate["leak.txt"]["reason"] == "symlink_outside_root"
    assert fate["bad\\xff\\xfename.txt"]["disposition"] == "archived"
    assert bytes.fromhex(fate["bad\\xff\\xfename.txt"]["path_bytes"]).endswith(b"\xff\xfename.txt")
