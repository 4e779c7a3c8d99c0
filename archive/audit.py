"""audit: prove an archive is intact, or name every file that is not.

Checks, in order (each problem names the file it is about):
1. root: the OCFL namaste and layout; no `tmp_*` leftovers, no interrupted transactions in the
   workspace, no staging of killed runs, no stray files or directories.
2. each object: namaste, inventory against its sidecar digest, the version inventory equal to
   the root one, every manifest file present with the digest the inventory says (recomputed:
   a same-size bit flip is caught), no file on disk the manifest does not list, no empty dirs.
3. each record: valid against the record schema shipped in the package; its text matches the
   record's own text_sha256 (so a record rewritten together with its inventory is still caught).
4. completeness: every disposition that names a record finds it in the object it names; every
   record in an object has an `archived` disposition there; every raw a disposition names exists;
   every link a run made onto earlier records names records that exist.
ocfl-py's validator is run in the tests as an independent second opinion.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive import ocfl, record
from archive.index import INDEX_DIR

ROOT_FILES = {ocfl.ROOT_NAMASTE, "ocfl_layout.json"}
OBJECT_FILES = {ocfl.OBJECT_NAMASTE, "inventory.json", "inventory.json.sha512"}
KNOWN_EXTENSIONS = {ocfl.WORKSPACE, INDEX_DIR, ocfl.STAGING}


@dataclass(frozen=True)
class Problem:
    path: str          # relative to the storage root
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def audit(root: Path, objects: list[str] | None = None) -> list[Problem]:
    """Every problem in the archive (or in the named objects only); empty when sound."""
    root = Path(root)
    if not ocfl.is_root(root):
        return [Problem(str(root), "not an OCFL storage root (no 0=ocfl_1.1)")]
    problems = list(_check_root(root))
    wanted = None if objects is None else set(objects)
    records: dict[str, str] = {}          # record id → object holding it
    raws: set[tuple[str, str]] = set()    # (object, logical path)
    dispositions: list[tuple[str, dict[str, Any]]] = []
    archived_here: set[tuple[str, str]] = set()
    linked: list[tuple[str, int, str, str]] = []   # (file, line, record, the record it links to)
    for obj in ocfl.object_dirs(root):
        files, obj_problems = _check_object(root, obj)
        problems += obj_problems
        for logical, path in files.items():
            if logical.startswith("raw/"):
                raws.add((obj.name, logical))
            elif logical.startswith("records/"):
                rid = logical.removeprefix("records/").removesuffix(".json")
                records[rid] = obj.name
                if wanted is None or obj.name in wanted:
                    problems += _check_record(root, path, rid)
        if wanted is not None and obj.name not in wanted:
            continue
        links = files.get("metadata/links.jsonl")
        if links is not None and links.is_file():
            for n, line in enumerate(links.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    entry = json.loads(line)
                    linked.append((f"{obj.name}/metadata/links.jsonl", n, entry["record"], entry["id"]))
                except (ValueError, KeyError, TypeError) as exc:
                    problems.append(Problem(_rel(root, links), f"line {n} is not a link: {exc}"))
        disp = files.get("metadata/dispositions.jsonl")
        if disp is None or not disp.is_file():
            problems.append(Problem(f"{obj.name}/metadata/dispositions.jsonl", "missing"))
            continue
        for n, line in enumerate(disp.read_text(encoding="utf-8").splitlines(), 1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(Problem(_rel(root, disp), f"line {n} is not JSON: {exc}"))
                continue
            dispositions.append((obj.name, entry))
            if entry.get("disposition") == "archived":
                archived_here.add((obj.name, entry.get("record", "")))
    problems += _check_completeness(root, records, raws, dispositions, archived_here, wanted)
    for where, n, a, b in linked:
        for rid in (a, b):
            if rid not in records:
                problems.append(Problem(where, f"line {n}: links to record {rid}, which is not archived"))
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
    sidecar = obj / "inventory.json.sha512"
    try:
        expected = sidecar.read_text().split()[0]
    except (OSError, IndexError):
        problems.append(Problem(f"{name}/inventory.json.sha512", "missing or empty"))
    else:
        if ocfl.file_digest(inv_path) != expected:
            problems.append(Problem(f"{name}/inventory.json", "digest does not match its sidecar"))
    if inventory.get("id") != name:
        problems.append(Problem(f"{name}/inventory.json", f"id {inventory.get('id')!r} is not the directory name"))
    head = inventory.get("head", "v1")
    version_inv = obj / head / "inventory.json"
    if not version_inv.is_file() or version_inv.read_bytes() != inv_path.read_bytes():
        problems.append(Problem(f"{name}/{head}/inventory.json", "missing or differs from the root inventory"))
    listed: set[str] = set()
    for digest, paths in inventory.get("manifest", {}).items():
        for content in paths:
            listed.add(content)
            path = obj / content
            if not path.is_file():
                problems.append(Problem(f"{name}/{content}", "listed in the manifest but missing"))
            elif ocfl.file_digest(path) != digest:
                problems.append(Problem(f"{name}/{content}", "content digest does not match the manifest (changed)"))
    allowed = OBJECT_FILES | {f"{head}/inventory.json", f"{head}/inventory.json.sha512"}
    for path in sorted(obj.rglob("*")):
        rel = path.relative_to(obj).as_posix()
        if path.is_dir():
            if not any(path.iterdir()):
                problems.append(Problem(f"{name}/{rel}", "empty directory"))
            continue
        if rel not in listed and rel not in allowed and not rel.startswith("logs/"):
            problems.append(Problem(f"{name}/{rel}", "file not listed in the inventory (orphan)"))
    try:
        files = ocfl.head_files(obj, inventory)
    except (KeyError, IndexError) as exc:
        problems.append(Problem(f"{name}/inventory.json", f"malformed: missing {exc}"))
        files = {}
    return files, problems


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


def _check_completeness(root: Path, records: dict[str, str], raws: set[tuple[str, str]],
                        dispositions: list[tuple[str, dict[str, Any]]],
                        archived_here: set[tuple[str, str]], wanted: set[str] | None) -> list[Problem]:
    problems = []
    for obj_name, entry in dispositions:
        where = f"{obj_name}/metadata/dispositions.jsonl"
        rid, home = entry.get("record"), entry.get("object")
        if rid and records.get(rid) != home:
            problems.append(Problem(where, f"{entry.get('path')}: record {rid} is not in object {home}"))
        raw = entry.get("raw")
        if raw and (raw["object"], raw["path"]) not in raws:
            problems.append(Problem(where, f"{entry.get('path')}: raw bytes {raw['object']}/{raw['path']} missing"))
    for rid, obj_name in sorted(records.items()):
        if (wanted is None or obj_name in wanted) and (obj_name, rid) not in archived_here:
            problems.append(Problem(f"{obj_name}/v1/content/records/{rid}.json",
                                    "record has no 'archived' disposition in its run"))
    return problems
