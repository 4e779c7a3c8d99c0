"""audit: prove an archive is intact, or name every file that is not.

Checks, in order (each problem names the file it is about):
1. root: the OCFL namaste and layout; no `tmp_*` leftovers, no interrupted transactions in the
   workspace, no staging of killed runs, no stray files or directories.
2. the ledger: its hash chain unbroken; every object it chains present with the inventory
   digest it chained (a run object deleted or replaced is caught); every object chained.
3. each object: namaste, both inventories against their sidecars, the version inventory equal
   to the root one, every manifest path inside the object (no `..`, absolute path or symlink),
   every manifest file present with the digest the inventory says (recomputed: a same-size bit
   flip is caught), no file on disk the manifest does not list, no symlinks, no empty dirs.
4. each record: valid against the record schema shipped in the package; its text matches the
   record's own text_sha256 (so a record rewritten together with its inventory is still caught).
5. completeness: every disposition that names a record finds it in the object it names; every
   record in an object has an `archived` disposition there; every raw a disposition names exists;
   every link a run made onto earlier records names records that exist.
A file that cannot be parsed is reported as `<file>: malformed...`, never a traceback.
ocfl-py's validator is run in the tests as an independent second opinion.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive import ocfl, record
from archive.index import INDEX_DIR

ROOT_FILES = {ocfl.ROOT_NAMASTE, "ocfl_layout.json"}
OBJECT_FILES = {ocfl.OBJECT_NAMASTE, "inventory.json", "inventory.json.sha512"}
KNOWN_EXTENSIONS = {ocfl.WORKSPACE, INDEX_DIR, ocfl.STAGING, ocfl.LEDGER_DIR, ocfl.REPORTS}


@dataclass(frozen=True)
class Problem:
    path: str          # relative to the storage root
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def audit(root: Path, objects: list[str] | None = None) -> list[Problem]:
    """Every problem in the archive (or in the named objects only); empty when sound.

    Never raises for what it finds on disk: a file it cannot make sense of is a problem named
    by its file, not a traceback.
    """
    root = Path(root)
    if not ocfl.is_root(root):
        return [Problem(str(root), "not an OCFL storage root (no 0=ocfl_1.1)")]
    seen = _Seen(None if objects is None else set(objects))
    problems = list(_guarded(root, ocfl.ROOT_NAMASTE, lambda: list(_check_root(root))))
    dirs = ocfl.object_dirs(root)
    problems += _guarded(root, f"{ocfl.EXTENSIONS}/{ocfl.LEDGER_DIR}/{ocfl.LEDGER}",
                         lambda: _check_ledger(root, dirs))
    for obj in dirs:
        problems += _guarded(root, f"{obj.name}/inventory.json", functools.partial(_scan_object, root, obj, seen))
    problems += _guarded(root, "(completeness)", lambda: _check_completeness(root, seen))
    return problems


@dataclass
class _Seen:
    """What the per-object scans collect for the checks across objects."""

    wanted: set[str] | None
    records: dict[str, str] = field(default_factory=dict)           # record id → object holding it
    raws: set[tuple[str, str]] = field(default_factory=set)         # (object, logical path)
    dispositions: list[tuple[str, Any]] = field(default_factory=list)
    archived_here: set[tuple[str, str]] = field(default_factory=set)
    linked: list[tuple[str, int, str, str]] = field(default_factory=list)  # (file, line, record, target)

    def checks(self, obj: Path) -> bool:
        return self.wanted is None or obj.name in self.wanted


def _guarded(root: Path, where: str, check: Callable[[], list[Problem]]) -> list[Problem]:
    try:
        return check()
    except Exception as exc:  # a malformed file must be reported, never crash the audit
        return [Problem(where, f"malformed, cannot be checked: {type(exc).__name__}: {exc}")]


def _scan_object(root: Path, obj: Path, seen: _Seen) -> list[Problem]:
    files, problems = _check_object(root, obj)
    for logical, path in files.items():
        if logical.startswith("raw/"):
            seen.raws.add((obj.name, logical))
        elif logical.startswith("records/"):
            rid = logical.removeprefix("records/").removesuffix(".json")
            seen.records[rid] = obj.name
            if seen.checks(obj):
                problems += _check_record(root, path, rid)
    if not seen.checks(obj):
        return problems
    links = files.get("metadata/links.jsonl")
    if links is not None and links.is_file():
        for n, line in enumerate(links.read_text(encoding="utf-8").splitlines(), 1):
            try:
                entry = json.loads(line)
                seen.linked.append((f"{obj.name}/metadata/links.jsonl", n, entry["record"], entry["id"]))
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(Problem(_rel(root, links), f"line {n} is not a link: {exc}"))
    disp = files.get("metadata/dispositions.jsonl")
    if disp is None or not disp.is_file():
        problems.append(Problem(f"{obj.name}/metadata/dispositions.jsonl", "missing"))
        return problems
    for n, line in enumerate(disp.read_text(encoding="utf-8").splitlines(), 1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(_rel(root, disp), f"line {n} is not JSON: {exc}"))
            continue
        if not isinstance(entry, dict):
            problems.append(Problem(_rel(root, disp), f"line {n} is not a disposition object"))
            continue
        seen.dispositions.append((obj.name, entry))
        if entry.get("disposition") == "archived":
            seen.archived_here.add((obj.name, entry.get("record", "")))
    return problems


def _check_ledger(root: Path, dirs: list[Path]) -> list[Problem]:
    """Every object chained in the ledger with its inventory's digest; every entry's object here."""
    where = f"{ocfl.EXTENSIONS}/{ocfl.LEDGER_DIR}/{ocfl.LEDGER}"
    entries, breaks = ocfl.read_ledger(root)
    problems = [Problem(where, b) for b in breaks]
    if not ocfl.ledger_path(root).exists():
        if dirs:
            problems.append(Problem(where, "missing: the run objects are not chained "
                                    "(the next run chains the objects present)"))
        return problems
    on_disk = {obj.name: obj for obj in dirs}
    chained = set()
    for n, entry in enumerate(entries, 1):
        name = entry.get("object")
        if not entry:
            continue
        chained.add(name)
        obj = on_disk.get(name) if isinstance(name, str) else None
        if obj is None:
            problems.append(Problem(where, f"line {n}: run object {name} is gone from the root"))
        elif ocfl.file_digest(obj / "inventory.json") != entry.get("inventory_sha512"):
            problems.append(Problem(f"{name}/inventory.json",
                                    f"differs from the one the ledger chained (line {n}): object replaced"))
    for name in sorted(set(on_disk) - chained):
        problems.append(Problem(name, "run object not in the ledger (added outside docclean, or "
                                "its writer was killed before chaining it; the next run chains it)"))
    return problems


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _check_root(root: Path) -> Iterator[Problem]:
    if (root / ocfl.ROOT_NAMASTE).read_text() != "ocfl_1.1\n":
        yield Problem(ocfl.ROOT_NAMASTE, "namaste content is not 'ocfl_1.1'")
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name.startswith("tmp_"):
            yield Problem(name, "leftover temporary file from an interrupted write")
        elif name in ROOT_FILES or name == ocfl.EXTENSIONS:
            continue
        elif entry.is_symlink():
            yield Problem(name, "symlink in the storage root (an object must be a real folder)")
        elif entry.is_dir() and (entry / ocfl.OBJECT_NAMASTE).is_file():
            continue
        else:
            yield Problem(name, "stray " + ("directory" if entry.is_dir() else "file")
                          + " in the storage root (not an OCFL object)")
    ext = root / ocfl.EXTENSIONS
    if ext.is_dir():
        for entry in sorted(ext.iterdir()):
            if entry.name not in KNOWN_EXTENSIONS:
                yield Problem(_rel(root, entry), "unknown extension directory")
        ws = ext / ocfl.WORKSPACE
        if ws.is_dir():
            for entry in sorted(ws.iterdir()):
                if not entry.name.startswith(ocfl.LOCK):     # the lock, its guard, a taker's temp
                    yield Problem(_rel(root, entry), "interrupted write left in the workspace "
                                  "(the next run removes it)")
    for stage in ocfl.stale_staging(root):
        yield Problem(_rel(root, stage), "staging left by a killed run (the next run removes it)")


def _check_object(root: Path, obj: Path) -> tuple[dict[str, Path], list[Problem]]:
    problems: list[Problem] = []
    name = obj.name
    inv_path = obj / "inventory.json"
    try:
        inventory = ocfl.load_inventory(obj)
    except (OSError, ValueError) as exc:
        return {}, [Problem(f"{name}/inventory.json", f"unreadable: {exc}")]
    if not isinstance(inventory, dict):
        return {}, [Problem(f"{name}/inventory.json", "malformed: not a JSON object")]
    if inventory.get("id") != name:
        problems.append(Problem(f"{name}/inventory.json", f"id {inventory.get('id')!r} is not the directory name"))
    try:
        head = ocfl.check_relative(inventory.get("head"))
    except ocfl.OcflError as exc:
        return {}, [*problems, Problem(f"{name}/inventory.json", f"malformed head: {exc}")]
    problems += _check_sidecar(obj, "inventory.json")
    problems += _check_sidecar(obj, f"{head}/inventory.json")
    version_inv = obj / head / "inventory.json"
    if not version_inv.is_file() or version_inv.read_bytes() != inv_path.read_bytes():
        problems.append(Problem(f"{name}/{head}/inventory.json", "missing or differs from the root inventory"))
    listed: set[str] = set()
    manifest = inventory.get("manifest")
    if not isinstance(manifest, dict) or not all(isinstance(v, list) for v in manifest.values()):
        return {}, [*problems, Problem(f"{name}/inventory.json", "malformed manifest")]
    for digest, paths in manifest.items():
        for content in paths:
            try:
                path = ocfl.safe_path(obj, content)
            except ocfl.OcflError as exc:
                problems.append(Problem(f"{name}/inventory.json", f"manifest: {exc}"))
                continue
            listed.add(content)
            if not path.is_file():
                problems.append(Problem(f"{name}/{content}", "listed in the manifest but missing"))
            elif ocfl.file_digest(path) != digest:
                problems.append(Problem(f"{name}/{content}", "content digest does not match the manifest (changed)"))
    allowed = OBJECT_FILES | {f"{head}/inventory.json", f"{head}/inventory.json.sha512"}
    for path in sorted(obj.rglob("*")):
        rel = path.relative_to(obj).as_posix()
        if path.is_symlink():
            problems.append(Problem(f"{name}/{rel}", "symlink inside the object"))
        elif path.is_dir():
            if not any(path.iterdir()):
                problems.append(Problem(f"{name}/{rel}", "empty directory"))
        elif rel not in listed and rel not in allowed and not rel.startswith("logs/"):
            problems.append(Problem(f"{name}/{rel}", "file not listed in the inventory (orphan)"))
    try:
        files = ocfl.head_files(obj, inventory)
    except ocfl.OcflError as exc:
        problems.append(Problem(f"{name}/inventory.json", str(exc)))
        files = {}
    return files, problems


def _check_sidecar(obj: Path, inventory: str) -> list[Problem]:
    """The sidecar must hold the inventory's sha512 and its name, and nothing else."""
    where = f"{obj.name}/{inventory}.sha512"
    try:
        fields = (obj / f"{inventory}.sha512").read_text().split()
    except (OSError, UnicodeDecodeError):
        return [Problem(where, "missing or unreadable")]
    if len(fields) != 2 or fields[1] != "inventory.json":
        return [Problem(where, "malformed: should be '<sha512> inventory.json'")]
    if ocfl.file_digest(obj / inventory) != fields[0]:
        return [Problem(f"{obj.name}/{inventory}", "digest does not match its sidecar")]
    return []


def _check_record(root: Path, path: Path, rid: str) -> list[Problem]:
    rel = _rel(root, path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [Problem(rel, f"not a readable JSON record: {exc}")]
    problems = [Problem(rel, f"schema: {err}") for err in record.schema_errors(data)]
    if isinstance(data, dict):
        if data.get("id") != rid:
            problems.append(Problem(rel, f"id {data.get('id')!r} does not match the file name"))
        text = data.get("text")
        if isinstance(text, str) and data.get("text_sha256") != hashlib.sha256(text.encode("utf-8")).hexdigest():
            problems.append(Problem(rel, "text does not match its text_sha256 (text changed)"))
    return problems


def _check_completeness(root: Path, seen: _Seen) -> list[Problem]:
    problems = []
    for obj_name, entry in seen.dispositions:
        where = f"{obj_name}/metadata/dispositions.jsonl"
        rid, home = entry.get("record"), entry.get("object")
        if rid and seen.records.get(rid) != home:
            problems.append(Problem(where, f"{entry.get('path')}: record {rid} is not in object {home}"))
        raw = entry.get("raw")
        if raw and (not isinstance(raw, dict) or (raw.get("object"), raw.get("path")) not in seen.raws):
            problems.append(Problem(where, f"{entry.get('path')}: raw bytes {raw} missing"))
    for rid, obj_name in sorted(seen.records.items()):
        if (seen.wanted is None or obj_name in seen.wanted) and (obj_name, rid) not in seen.archived_here:
            problems.append(Problem(f"{obj_name}/v1/content/records/{rid}.json",
                                    "record has no 'archived' disposition in its run"))
    for where, n, a, b in seen.linked:
        for rid in (a, b):
            if rid not in seen.records:
                problems.append(Problem(where, f"line {n}: links to record {rid}, which is not archived"))
    return problems
