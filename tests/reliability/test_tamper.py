"""Every tamper class the audit must catch (issue #23), and the crafted archive the BagIt export
must refuse. Each test damages a private copy of one two-run archive and runs `docclean audit`
through `main`: exit 1, the damaged file named, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from archive import ocfl
from archive.cli import main


@pytest.fixture(scope="module")
def two_runs(seed_paths, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tamper") / "archive"
    assert main(["run", *map(str, seed_paths[:3]), "--archive", str(root), "--quiet"]) == 0
    assert main(["run", *map(str, seed_paths[3:]), "--archive", str(root), "--quiet"]) == 0
    return root


@pytest.fixture()
def arch(two_runs, tmp_path) -> Path:
    root = tmp_path / "archive"
    shutil.copytree(two_runs, root, symlinks=True)
    return root


def _objects(root: Path) -> list[Path]:
    return ocfl.object_dirs(root)


def _first_record(obj: Path) -> Path:
    return sorted((obj / "v1" / "content" / "records").glob("*.json"))[0]


def rewrite_inventory(obj: Path, change: Callable[[dict], object]) -> None:
    """Change the inventory as a careful forger would: both copies and both sidecars agree."""
    inv = json.loads((obj / "inventory.json").read_text())
    change(inv)
    for path in (obj / "inventory.json", obj / "v1" / "inventory.json"):
        path.write_text(json.dumps(inv))
        path.with_name("inventory.json.sha512").write_text(f"{ocfl.file_digest(path)} inventory.json\n")


def _digest_of(inv: dict, suffix: str) -> str:
    return next(d for d, paths in inv["manifest"].items() if paths[0].endswith(suffix))


def flip_sidecar(root):
    obj = _objects(root)[0]
    side = obj / "inventory.json.sha512"
    text = side.read_text()
    side.write_text(("0" if text[0] != "0" else "1") + text[1:])
    return f"{obj.name}/inventory.json"


def delete_sidecar(root):
    obj = _objects(root)[0]
    (obj / "inventory.json.sha512").unlink()
    return f"{obj.name}/inventory.json.sha512"


def flip_version_sidecar(root):
    obj = _objects(root)[1]
    side = obj / "v1" / "inventory.json.sha512"
    side.write_text("f" * 128 + " inventory.json\n")
    return f"{obj.name}/v1/inventory.json"


def delete_version_sidecar(root):
    obj = _objects(root)[1]
    (obj / "v1" / "inventory.json.sha512").unlink()
    return f"{obj.name}/v1/inventory.json.sha512"


def delete_run_object(root):
    obj = _objects(root)[0]
    shutil.rmtree(obj)
    return f"run object {obj.name} is gone"


def replace_run_object(root):
    """A self-consistent forgery: one record's text changed, text_sha256, manifest, sidecars."""
    obj = _objects(root)[1]
    record = _first_record(obj)
    rec = json.loads(record.read_text(encoding="utf-8"))
    rec["text"] = "伪造的正文。"
    import hashlib
    rec["text_sha256"] = hashlib.sha256(rec["text"].encode()).hexdigest()
    old = ocfl.file_digest(record)
    record.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    new = ocfl.file_digest(record)

    def change(inv):
        inv["manifest"][new] = inv["manifest"].pop(old)
        inv["versions"]["v1"]["state"][new] = inv["versions"]["v1"]["state"].pop(old)
        inv["fixity"] = {}
    rewrite_inventory(obj, change)
    return "object replaced"


def slip_in_object(root):
    src = _objects(root)[0]
    fake = root / "run-000000000000000000000000"
    shutil.copytree(src, fake)
    rewrite_inventory(fake, lambda inv: inv.update(id=fake.name))
    return f"{fake.name}: run object not in the ledger"


def break_ledger_chain(root):
    ledger = ocfl.ledger_path(root)
    lines = ledger.read_text().splitlines()
    first = json.loads(lines[0])
    first["inventory_sha512"] = "0" * 128
    ledger.write_text("\n".join([json.dumps(first, sort_keys=True), *lines[1:]]) + "\n")
    return "the chain is broken"


def delete_ledger(root):
    ocfl.ledger_path(root).unlink()
    return "ledger.jsonl: missing"


def manifest_dotdot(root):
    """A manifest path that climbs out of the object to a file the attacker planted."""
    obj = _objects(root)[0]
    planted = root.parent / "planted.json"
    record = _first_record(obj)
    shutil.copy(record, planted)
    record.unlink()
    rewrite_inventory(obj, lambda inv: inv["manifest"].__setitem__(
        _digest_of(inv, record.name), ["../../../planted.json"]))
    return f"{obj.name}/inventory.json: manifest: path '../../../planted.json' leaves"


def manifest_absolute(root):
    obj = _objects(root)[0]
    record = _first_record(obj)
    rewrite_inventory(obj, lambda inv: inv["manifest"].__setitem__(
        _digest_of(inv, record.name), ["/etc/hostname"]))
    return "'/etc/hostname' leaves"


def manifest_symlink(root):
    obj = _objects(root)[0]
    record = _first_record(obj)
    outside = root.parent / "outside.json"
    shutil.copy(record, outside)
    record.unlink()
    record.symlink_to(outside)
    return "passes through a symlink"


def malformed_manifest(root):
    obj = _objects(root)[0]
    rewrite_inventory(obj, lambda inv: inv.update(manifest=[1, 2, 3]))
    return f"{obj.name}/inventory.json: malformed manifest"


def malformed_state(root):
    obj = _objects(root)[0]
    rewrite_inventory(obj, lambda inv: inv["versions"]["v1"].update(state={"x": "records/a.json"}))
    return f"{obj.name}/inventory.json"


def malformed_head(root):
    obj = _objects(root)[1]
    rewrite_inventory(obj, lambda inv: inv.update(head=["v1"]))
    return "malformed head"


def malformed_disposition(root):
    obj = _objects(root)[0]
    disp = obj / "v1" / "content" / "metadata" / "dispositions.jsonl"
    old = ocfl.file_digest(disp)
    disp.write_text('[1, 2]\n{"raw": "nope", "record": 5}\n')
    new = ocfl.file_digest(disp)

    def change(inv):
        inv["manifest"][new] = inv["manifest"].pop(old)
        inv["versions"]["v1"]["state"][new] = inv["versions"]["v1"]["state"].pop(old)
    rewrite_inventory(obj, change)
    return "line 1 is not a disposition object"



TAMPERS = [flip_sidecar, delete_sidecar, flip_version_sidecar, delete_version_sidecar,
           delete_run_object, replace_run_object, slip_in_object, break_ledger_chain, delete_ledger,
           manifest_dotdot, manifest_absolute, manifest_symlink, malformed_manifest, malformed_state,
           malformed_head, malformed_disposition]


def test_the_untouched_copy_is_sound(arch, capsys):
    assert main(["audit", str(arch)]) == 0


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
def test_the_audit_catches(arch, capsys, tamper):
    expected = tamper(arch)
    code = main(["audit", str(arch)])
    out, err = capsys.readouterr()
    assert code == 1, out
    assert expected in out, out
    assert "Traceback" not in out + err


def test_a_crafted_archive_is_not_exported(arch, tmp_path, capsys):
    """The crafted archive of issue #23: a state path climbing out of OUT, a manifest path
    reaching /etc/hostname. The audit rejects it, the export refuses it, nothing is written."""
    obj = _objects(arch)[-1]
    record = _first_record(obj)

    def change(inv):
        digest = _digest_of(inv, record.name)
        inv["manifest"][digest] = ["../../../../../../etc/hostname"]
        inv["versions"]["v1"]["state"][digest] = ["../../escaped.txt"]
    rewrite_inventory(obj, change)
    out_dir = tmp_path / "deep" / "er" / "bag"
    assert main(["audit", str(arch)]) == 1
    capsys.readouterr()
    assert main(["export", str(arch), "--bagit", str(out_dir)]) == 1
    assert "leaves its folder" in capsys.readouterr().err
    assert not out_dir.exists()
    assert not list(tmp_path.rglob("escaped.txt"))
    assert main(["export", str(arch)]) == 1                      # the JSON Lines export too
    assert "leaves its folder" in capsys.readouterr().err


def test_a_bag_is_refused_when_the_audit_finds_anything(arch, tmp_path, capsys):
    record = _first_record(_objects(arch)[-1])
    data = bytearray(record.read_bytes())
    data[len(data) // 2] ^= 1
    record.write_bytes(bytes(data))
    assert main(["export", str(arch), "--bagit", str(tmp_path / "bag")]) == 1
    assert "audit rejects" in capsys.readouterr().err
    assert not (tmp_path / "bag").exists()


def test_ocfl_py_still_validates_a_root_with_a_ledger(two_runs):
    import subprocess
    import sys

    proc = subprocess.run([str(Path(sys.executable).parent / "ocfl-root.py"), "validate", "--root",
                           str(two_runs), "--validate-objects"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.path.isfile(ocfl.ledger_path(two_runs))
