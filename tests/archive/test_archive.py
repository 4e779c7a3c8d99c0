"""The archive end to end, through the CLI: run, rerun, audit (ours and ocfl-py's), faults,
export, BagIt, and bad inputs. Real files, real validators, no mocks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _cli import run as _run

from archive import ocfl
from archive.cli import main
from archive.record import schema_errors

RECORD_FIELDS = {"id", "title", "text", "script", "metadata", "sources", "provenance",
                 "near_duplicates", "pipeline"}
BIN = Path(sys.executable).parent



@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """One archive made from seeds/, shared by the read-only tests below."""
    root = tmp_path_factory.mktemp("arch") / "archive"
    assert main(["run", str(Path(__file__).resolve().parents[2] / "seeds"), "--archive", str(root),
                 "--quiet"]) == 0
    return root


@pytest.fixture()
def copy_of(seeded, tmp_path) -> Path:
    """A private copy of the seeded archive for tests that damage it."""
    root = tmp_path / "archive"
    shutil.copytree(seeded, root)
    return root


def _records(root: Path) -> list[Path]:
    return sorted(root.glob("run-*/v1/content/records/*.json"))


def test_run_prints_five_documents_and_the_archive(seed_paths, tmp_path, capsys):
    code, out, _ = _run(capsys, "run", *map(str, seed_paths), "--archive", str(tmp_path / "a"))
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("archived ")]
    assert len(lines) == 5
    assert all(p.name in out for p in seed_paths)
    assert f"archive: {(tmp_path / 'a').resolve()}" in out
    assert len(_records(tmp_path / "a")) == 5


def test_every_record_is_schema_valid_and_id_is_ascii(seeded):
    for path in _records(seeded):
        rec = json.loads(path.read_text(encoding="utf-8"))
        assert schema_errors(rec) == []
        assert rec["id"].isascii() and path.stem == rec["id"]


def test_audit_passes_on_a_fresh_archive(seeded, capsys):
    code, out, _ = _run(capsys, "audit", str(seeded))
    assert code == 0, out
    assert "is sound" in out


def test_ocfl_py_validates_the_root(seeded):
    proc = subprocess.run([str(BIN / "ocfl-root.py"), "validate", "--root", str(seeded),
                           "--validate-objects", "--check-digests"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "are VALID" in proc.stdout + proc.stderr


@pytest.mark.parametrize("fault", ["flip", "delete", "stray", "orphan", "tmp", "txn"])
def test_audit_fails_and_names_the_file(copy_of, capsys, fault):
    record = _records(copy_of)[0]
    rel = record.relative_to(copy_of).as_posix()
    if fault == "flip":
        data = bytearray(record.read_bytes())
        data[len(data) // 2] ^= 0x01
        record.write_bytes(bytes(data))
        named = rel
    elif fault == "delete":
        record.unlink()
        named = rel
    elif fault == "stray":
        (copy_of / "notes.txt").write_text("hello")
        named = "notes.txt"
    elif fault == "orphan":
        (record.parent / "extra.json").write_text("{}")
        named = rel.replace(record.name, "extra.json")
    elif fault == "tmp":
        (copy_of / "tmp_inventory.json").write_text("{}")
        named = "tmp_inventory.json"
    else:
        (ocfl.workspace(copy_of) / "txn-run-x").mkdir()
        named = "extensions/docclean-workspace/txn-run-x"
    code, out, _ = _run(capsys, "audit", str(copy_of))
    assert code == 1
    assert named in out, out


def test_audit_catches_a_record_rewritten_with_its_inventory(copy_of, capsys):
    """Digests alone cannot catch a consistent rewrite; the content-derived id can."""
    record = _records(copy_of)[0]
    rec = json.loads(record.read_text(encoding="utf-8"))
    rec["text"] = "龘" + rec["text"][1:]
    record.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    obj = record.parents[3]
    inv = json.loads((obj / "inventory.json").read_text())
    old = next(d for d, paths in inv["manifest"].items() if paths[0].endswith(record.name))
    new = ocfl.file_digest(record)
    inv["manifest"][new] = inv["manifest"].pop(old)
    inv["versions"]["v1"]["state"][new] = inv["versions"]["v1"]["state"].pop(old)
    for path in (obj / "inventory.json", obj / "v1" / "inventory.json"):
        path.write_text(json.dumps(inv))
        path.with_name("inventory.json.sha512").write_text(f"{ocfl.file_digest(path)} inventory.json\n")
    code, out, _ = _run(capsys, "audit", str(copy_of))
    assert code == 1
    assert "text changed" in out and record.name in out


def test_export_gives_every_field_per_document(seeded, capsys):
    code, out, _ = _run(capsys, "export", str(seeded))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 5
    for rec in records:
        assert RECORD_FIELDS <= set(rec)
        assert rec["script"] == "hans"
        assert rec["sources"][0]["encoding"] == "utf-8"
        assert rec["provenance"][0]["step"] == "encoding.detect"


def test_rerun_adds_no_record_and_mixed_run_adds_only_new(seed_paths, tmp_path, capsys):
    root = tmp_path / "a"
    assert _run(capsys, "run", *map(str, seed_paths[:3]), "--archive", str(root), "--quiet")[0] == 0
    before = sorted(p.name for p in root.iterdir())
    code, out, _ = _run(capsys, "run", *map(str, seed_paths[:3]), "--archive", str(root))
    assert code == 0 and "already archived, nothing written" in out
    # every document says so too; none claims to have been archived now
    assert sum(line.startswith("already archived ") for line in out.splitlines()) == 3, out
    assert not any(line.startswith("archived ") for line in out.splitlines()), out
    assert "counts: 3 inputs, all already archived" in out
    assert sorted(p.name for p in root.iterdir()) == before          # nothing written
    code, out, _ = _run(capsys, "run", *map(str, seed_paths), "--archive", str(root))
    assert code == 0
    fates = [line.split()[0] for line in out.splitlines() if line.startswith(("archived ", "already_"))]
    assert sorted(fates) == ["already_archived"] * 3 + ["archived"] * 2
    assert len(_records(root)) == 5
    code, out, _ = _run(capsys, "export", str(root))
    assert len(out.splitlines()) == 5
    assert _run(capsys, "audit", str(root))[0] == 0


def test_identical_inputs_become_one_record_with_several_sources(seed_paths, tmp_path, capsys):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(seed_paths[2], inbox / "a.txt")
    shutil.copy(seed_paths[2], inbox / "b.txt")
    code, out, _ = _run(capsys, "run", str(inbox), "--archive", str(tmp_path / "a"))
    assert code == 0 and "duplicate_of" in out
    (rec,) = [json.loads(line) for line in _run(capsys, "export", str(tmp_path / "a"))[1].splitlines()]
    assert sorted(Path(s["path"]).name for s in rec["sources"]) == ["a.txt", "b.txt"]


def test_bad_inputs_are_rejected_with_reasons_and_the_run_goes_on(seed_paths, tmp_path, capsys):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(seed_paths[0], inbox / "good.txt")
    (inbox / "empty.txt").write_bytes(b"")
    (inbox / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    (inbox / "doc.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(200))
    (inbox / "pack.zip").write_bytes(b"PK\x03\x04" + os.urandom(200))
    (inbox / "noise.bin").write_bytes(bytes(range(256)) * 8)
    (inbox / "dangling.txt").symlink_to(tmp_path / "gone")
    root = tmp_path / "a"
    code, out, _ = _run(capsys, "run", str(inbox), str(tmp_path / "missing-*.txt"), "--archive", str(root))
    assert code == 0
    disp = [json.loads(line) for line in
            next(root.glob("run-*/v1/content/metadata/dispositions.jsonl")).read_text().splitlines()]
    fate = {Path(d["path"]).name: (d["disposition"], d.get("reason")) for d in disp}
    assert fate["good.txt"][0] == "archived"
    assert fate["empty.txt"] == ("rejected", "empty_input")
    for name in ("image.png", "doc.pdf", "pack.zip"):
        assert fate[name] == ("rejected", "binary_content"), name
    assert fate["noise.bin"] in {("rejected", "binary_content"), ("rejected", "undecodable")}
    assert fate["dangling.txt"] == ("rejected", "unreadable")
    assert fate["missing-*.txt"] == ("rejected", "not_found")
    # nothing the user gave is lost: every readable input's bytes are in the archive
    for d in disp:
        if d["sha256"]:
            raw = root / d["raw"]["object"] / "v1" / "content" / d["raw"]["path"]
            assert raw.is_file()
    assert _run(capsys, "audit", str(root))[0] == 0


def test_a_folder_of_thousands_of_files(tmp_path, capsys):
    inbox = tmp_path / "many"
    for n in range(1500):
        sub = inbox / f"d{n // 500}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{n:05d}.txt").write_text(f"第{n}號文件。數字政府建設的實施意見,第{n}條。\n", encoding="utf-8")
    code, out, _ = _run(capsys, "run", str(inbox), "--archive", str(tmp_path / "a"), "--quiet", "--jobs", "2")
    assert code == 0
    assert "1500 archived" in out
    assert len(_records(tmp_path / "a")) == 1500


def test_bagit_export_validates(seeded, tmp_path, capsys):
    import bagit

    code, out, _ = _run(capsys, "export", str(seeded), "--bagit", str(tmp_path / "bag"))
    assert code == 0
    bag = bagit.Bag(str(tmp_path / "bag"))
    bag.validate()
    payload = {p for p in bag.payload_files()}
    assert sum(p.startswith("data/records/") for p in payload) == 5
    for alg in ("sha256", "sha512"):   # bagit-python accepts a file missing from one manifest
        assert set(bag.payload_entries()) == payload
        manifest = (tmp_path / "bag" / f"manifest-{alg}.txt").read_text().splitlines()
        assert {line.split(None, 1)[1] for line in manifest} == payload


def test_run_refuses_a_folder_that_is_not_an_archive(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file.txt").write_text("hi")
    code, _, err = _run(capsys, "run", str(tmp_path / "x" / "file.txt"), "--archive", str(tmp_path / "x"))
    assert code == 1 and "not an OCFL storage root" in err
    assert _run(capsys, "audit", str(tmp_path / "x"))[0] == 1


def test_crashed_write_is_recovered_by_the_next_run(seed_paths, tmp_path, capsys):
    root = tmp_path / "a"
    ocfl.init_root(root)
    (ocfl.workspace(root) / "txn-run-dead" / "v1").mkdir(parents=True)
    (ocfl.workspace(root) / ocfl.LOCK).write_text("999999")         # a writer that died
    assert _run(capsys, "audit", str(root))[0] == 1
    assert main(["run", str(seed_paths[0]), "--archive", str(root), "--quiet"]) == 0
    assert _run(capsys, "audit", str(root))[0] == 0
