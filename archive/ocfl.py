"""A small, strict OCFL 1.1 writer and reader: one object per run, built aside, renamed in.

Why our own writer: ocfl-py's writers work in place with no locking (zimeon/ocfl-py#28), so we
write through a staged workspace (OCFL implementation notes §3.7) and use ocfl-py only as the
independent validator in tests. Layout: storage root with `0=ocfl_1.1`, the
0002-flat-direct-storage-layout (object id == directory name, ids are ASCII), one version `v1`
per object (a run never changes after it is published), sha512 digests with a sha256 fixity
block (our raw files are named by sha256).

Workspace, lock, index and staging live under `extensions/` of the root, on the same
filesystem, so publishing an object is a single `rename`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROOT_NAMASTE = "0=ocfl_1.1"
OBJECT_NAMASTE = "0=ocfl_object_1.1"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
LAYOUT = {
    "extension": "0002-flat-direct-storage-layout",
    "description": "Flat direct storage layout: the object id is the directory name "
                   "(docclean ids are ASCII run ids).",
}
EXTENSIONS = "extensions"
WORKSPACE = "docclean-workspace"      # transactions in progress; empty when no writer runs
LOCK = "docclean-writer.lock"
STAGING = "docclean-staging"          # cleaned batches waiting for the writer (Airflow, CLI)
CHUNK = 1 << 20


class OcflError(Exception):
    """The storage root is not usable (not OCFL, locked by another writer, ...)."""


def file_digest(path: Path, algorithm: str = "sha512") -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _write_sidecar(inventory: Path) -> None:
    digest = file_digest(inventory)
    inventory.with_name(inventory.name + ".sha512").write_text(f"{digest} {inventory.name}\n")


def is_root(root: Path) -> bool:
    return (root / ROOT_NAMASTE).is_file()


def init_root(root: Path) -> None:
    """Create an empty storage root, or check that `root` already is one."""
    if is_root(root):
        return
    if root.exists() and any(root.iterdir()):
        raise OcflError(f"{root} is not empty and not an OCFL storage root: choose a new or empty folder")
    root.mkdir(parents=True, exist_ok=True)
    (root / ROOT_NAMASTE).write_text("ocfl_1.1\n")
    (root / "ocfl_layout.json").write_text(json.dumps(LAYOUT, indent=2) + "\n")
    (root / EXTENSIONS).mkdir(exist_ok=True)


def workspace(root: Path) -> Path:
    path = root / EXTENSIONS / WORKSPACE
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """One writer per storage root: an O_EXCL lock file holding our pid.

    A lock left by a process that no longer runs is taken over (the crash it marks is
    cleaned up by `recover`).
    """
    lock = workspace(root) / LOCK
    for _attempt in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid and _alive(pid):
                raise OcflError(f"another docclean writer (pid {pid}) holds {lock}") from None
            log.warning("removing stale writer lock %s (pid %s is gone)", lock, pid)
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        break
    else:
        raise OcflError(f"cannot take the writer lock {lock}")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(root: Path) -> list[str]:
    """Remove what a crashed writer left: transactions in the workspace. Call under the lock."""
    removed = []
    ws = workspace(root)
    for entry in ws.iterdir():
        if entry.name == LOCK:
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        removed.append(str(entry.relative_to(root)))
    for entry in root.iterdir():
        if entry.name.startswith("tmp_"):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            removed.append(entry.name)
    if removed:
        log.warning("recovered from an interrupted write: removed %s", ", ".join(removed))
    return removed


@dataclass(frozen=True)
class NewObject:
    """An object being built in the workspace: add content files, then `publish`."""

    root: Path
    object_id: str
    txn: Path

    @property
    def content(self) -> Path:
        return self.txn / "v1" / "content"

    def path(self, logical: str) -> Path:
        target = self.content / logical
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_bytes(self, logical: str, data: bytes) -> None:
        self.path(logical).write_bytes(data)

    def adopt(self, logical: str, source: Path) -> None:
        """Bring a staged file in: a hard link (no copy, same filesystem), else a copy."""
        target = self.path(logical)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)

    def publish(self, created: str, message: str) -> Path:
        """Write the inventory and its sidecar last, sync once, rename into the root."""
        manifest: dict[str, list[str]] = {}
        state: dict[str, list[str]] = {}
        fixity: dict[str, list[str]] = {}
        for file in sorted(p for p in self.content.rglob("*") if p.is_file()):
            logical = file.relative_to(self.content).as_posix()
            digest = file_digest(file)
            manifest.setdefault(digest, []).append(f"v1/content/{logical}")
            state.setdefault(digest, []).append(logical)
            fixity.setdefault(file_digest(file, "sha256"), []).append(f"v1/content/{logical}")
        inventory: dict[str, Any] = {
            "id": self.object_id,
            "type": INVENTORY_TYPE,
            "digestAlgorithm": "sha512",
            "head": "v1",
            "contentDirectory": "content",
            "fixity": {"sha256": fixity},
            "manifest": manifest,
            "versions": {
                "v1": {
                    "created": created,
                    "message": message,
                    "state": state,
                    "user": {"name": "docclean", "address": "https://github.com/docclean/docclean"},
                }
            },
        }
        blob = json.dumps(inventory, indent=1, sort_keys=True, ensure_ascii=True) + "\n"
        (self.txn / OBJECT_NAMASTE).write_text("ocfl_object_1.1\n")
        for inv in (self.txn / "v1" / "inventory.json", self.txn / "inventory.json"):
            inv.write_text(blob)
            _write_sidecar(inv)
        os.sync()
        final = self.root / self.object_id
        if final.exists():
            raise OcflError(f"object {self.object_id} appeared while this run was writing it")
        os.rename(self.txn, final)
        return final


def new_object(root: Path, object_id: str) -> NewObject:
    txn = workspace(root) / f"txn-{object_id}"
    if txn.exists():
        shutil.rmtree(txn)
    (txn / "v1" / "content").mkdir(parents=True)
    return NewObject(root, object_id, txn)


def object_dirs(root: Path) -> list[Path]:
    """Every object in the root (flat layout: each direct child holding the object namaste)."""
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / OBJECT_NAMASTE).is_file())


def load_inventory(obj: Path) -> dict[str, Any]:
    with (obj / "inventory.json").open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def head_files(obj: Path, inventory: dict[str, Any] | None = None) -> dict[str, Path]:
    """Logical path → file on disk, for the head version of an object."""
    inv = inventory or load_inventory(obj)
    state = inv["versions"][inv["head"]]["state"]
    out = {}
    for digest, logicals in state.items():
        content = inv["manifest"][digest][0]
        for logical in logicals:
            out[logical] = obj / content
    return out
