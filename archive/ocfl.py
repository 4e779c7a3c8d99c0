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
import fcntl
import hashlib
import itertools
import json
import logging
import os
import random
import shutil
import socket
import time
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
CLI_STAGING_PREFIX = "cli-"           # a `docclean run`'s staging folder: cli-<pid>-<time>
STAGING_OWNER = "owner.json"          # who uses a staging folder (pid, host, start time)
CHUNK = 1 << 20


class OcflError(Exception):
    """The storage root is not usable (not OCFL, locked by another writer, ...)."""


class LockHeld(OcflError):
    """Another writer holds the root's writer lock (and did not let go within the wait)."""


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
def writer_lock(root: Path, wait: float = 0.0) -> Iterator[None]:
    """One writer per storage root: a lock file naming its holder (pid, host, start time).

    Taken atomically with its content: written to a temporary file, then hard-linked to the
    lock's name (`link` fails when the name exists), so no one ever reads it empty. A lock is
    stale only when its holder is provably dead: same host, and no process with its pid and
    start time. Taking (and breaking a stale lock) happens under an `flock` on a guard file
    that is never removed, so two competitors never both replace it. `wait` seconds: queue
    behind a live holder, then fail.
    """
    lock = workspace(root) / LOCK
    deadline = time.monotonic() + max(0.0, wait)
    me = holder_record()
    while True:
        holder = _take(lock, me)
        if holder is None:
            break
        if time.monotonic() >= deadline:
            who = f"pid {holder.get('pid')} on {holder.get('host')}" if holder else "unknown"
            raise LockHeld(f"another docclean writer ({who}) holds {lock}"
                            + (f"; waited {wait:g} s" if wait > 0 else "; use --wait SECONDS to queue"))
        time.sleep(LOCK_POLL_SECONDS * (0.5 + random.random()))
    try:
        yield
    finally:
        if _read_lock(lock) == me:
            lock.unlink(missing_ok=True)


# How often a queued writer looks at the lock again (seconds, jittered): a commit takes seconds.
LOCK_POLL_SECONDS = 0.2
# An empty or unreadable lock file (only an older docclean, killed mid-write, leaves one: ours
# are complete when they appear) is taken over once it is this old (seconds).
GARBLED_LOCK_GRACE = 60.0
_counter = itertools.count()


def holder_record() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "start": _start_time(os.getpid())}


def _take(lock: Path, me: dict[str, Any]) -> dict[str, Any] | None:
    """Take the lock: None when taken, else the live holder (or {} when it is unknown).

    Every take happens under the guard, so judging a lock stale and replacing it is one step
    no competitor can interleave with; only a holder's release (of its own file) runs outside.
    """
    tmp = lock.with_name(f"{LOCK}.tmp-{os.getpid()}-{next(_counter)}")
    tmp.write_text(json.dumps(me, sort_keys=True))
    try:
        with _guard(lock):
            try:
                os.link(tmp, lock)
                return None
            except FileExistsError:
                pass
            holder = _read_lock(lock)
            if holder is None and not _garbled_and_old(lock):
                return {}
            if holder is not None and not provably_dead(holder):
                return holder
            log.warning("removing stale writer lock %s (%s)", lock, holder or "empty")
            lock.unlink(missing_ok=True)
            os.link(tmp, lock)
            return None
    except FileNotFoundError:         # our temporary file was swept by `recover`: try again
        return {}
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _guard(lock: Path) -> Iterator[None]:
    fd = os.open(lock.with_name(LOCK + ".guard"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)                  # releases the flock


def _read_lock(lock: Path) -> dict[str, Any] | None:
    """The holder a lock file names; None when there is none or it cannot be read."""
    try:
        text = lock.read_text().strip()
    except OSError:
        return None
    if text.isdigit():                # the format before issue #23: a bare pid, this host
        return {"pid": int(text), "host": socket.gethostname(), "start": None}
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def _garbled_and_old(lock: Path) -> bool:
    try:
        return time.time() - lock.stat().st_mtime > GARBLED_LOCK_GRACE
    except OSError:
        return True                   # gone: nothing to wait for


def provably_dead(holder: dict[str, Any]) -> bool:
    """Only on this host, and only when no process has the holder's pid (and start time)."""
    if holder.get("host") != socket.gethostname():
        return False
    pid = holder["pid"]
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    start = holder.get("start")
    return start is not None and _start_time(pid) not in (None, start)   # the pid was reused


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux /proc), None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def stale_staging(root: Path) -> list[Path]:
    """Staging folders of `docclean run`s whose process is provably gone (what the audit reports)."""
    base = Path(root) / EXTENSIONS / STAGING
    out = []
    for path in sorted(base.glob(CLI_STAGING_PREFIX + "*")) if base.is_dir() else ():
        try:
            owner = json.loads((path / STAGING_OWNER).read_text())
        except (OSError, ValueError):
            # no owner file (not written yet, or a run from before issue #23): the pid in the name
            pid = path.name.removeprefix(CLI_STAGING_PREFIX).split("-")[0]
            owner = {"pid": int(pid) if pid.isdigit() else 0, "host": socket.gethostname()}
        if isinstance(owner, dict) and isinstance(owner.get("pid"), int) and provably_dead(owner):
            out.append(path)
    return out


def recover(root: Path) -> list[str]:
    """Remove what a crashed writer left: transactions in the workspace. Call under the lock."""
    removed = []
    ws = workspace(root)
    for entry in ws.iterdir():
        if entry.name in (LOCK, LOCK + ".guard"):
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
