"""export: every archived record as JSON Lines, or a run handed over as a BagIt bag.

A record is immutable in the run that first archived it. Inputs seen again in later runs
(`already_archived` dispositions) are added to its `sources` on export, each marked with the
run that saw it, so `sources` always lists every input that cleaned to the document.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archive import ocfl


def _objects_in_order(root: Path) -> list[tuple[str, Path, dict[str, Path]]]:
    out = []
    for obj in ocfl.object_dirs(root):
        inv = ocfl.load_inventory(obj)
        try:
            created = str(inv["versions"][inv["head"]]["created"])
        except (KeyError, TypeError) as exc:
            raise ocfl.OcflError(f"{obj.name}/inventory.json is malformed ({exc!r}): "
                                 f"run `docclean audit {root}`") from None
        out.append((created, obj, ocfl.head_files(obj, inv)))
    out.sort(key=lambda item: (item[0], item[1].name))
    return [(created, obj, files) for created, obj, files in out]


def run_object(root: Path, run: str | None) -> tuple[Path, dict[str, Path]]:
    """One run's object and its head files: `run`, or the newest when None."""
    objects = _objects_in_order(root)
    if not objects:
        raise FileNotFoundError(f"{root} holds no runs")
    chosen = [o for o in objects if run is None or o[1].name == run]
    if not chosen:
        raise FileNotFoundError(f"{root} has no run {run!r}; runs: {', '.join(o[1].name for o in objects)}")
    _created, obj, files = chosen[-1]
    return obj, files


def iter_records(root: Path, run: str | None = None) -> Iterator[dict[str, Any]]:
    """Every record, or only those `run` archived, with later sightings and links merged in."""
    root = Path(root)
    if not ocfl.is_root(root):
        raise FileNotFoundError(f"{root} is not a docclean archive (no OCFL storage root there)")
    objects = _objects_in_order(root)
    sightings: dict[str, list[dict[str, Any]]] = {}
    later: dict[str, list[dict[str, Any]]] = {}
    for _created, obj, files in objects:
        for entry in _jsonl(files.get("metadata/dispositions.jsonl")):
            if entry.get("disposition") == "already_archived" and entry.get("source"):
                sightings.setdefault(entry["record"], []).append({**entry["source"], "run": obj.name})
        for link in _jsonl(files.get("metadata/links.jsonl")):
            later.setdefault(link["record"], []).append({**link, "run": obj.name})
    for _created, obj, files in objects:
        if run is not None and obj.name != run:
            continue
        for logical in sorted(files):
            if logical.startswith("records/"):
                rec: dict[str, Any] = json.loads(files[logical].read_text(encoding="utf-8"))
                known = {s["sha256"] for s in rec["sources"]}
                for seen in sightings.get(rec["id"], []):
                    if seen["sha256"] not in known:
                        rec["sources"].append(seen)
                        known.add(seen["sha256"])
                _merge_links(rec, later.get(rec["id"], []))
                yield rec


def _jsonl(path: Path | None) -> list[dict[str, Any]]:
    if path is None or not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _merge_links(rec: dict[str, Any], links: list[dict[str, Any]]) -> None:
    """Links later runs made onto this (immutable) record, in run order."""
    for link in links:
        kind = link["kind"]
        if kind == "near_duplicate":
            rec["near_duplicates"].append({"id": link["id"], "similarity": link["similarity"],
                                           "run": link["run"]})
        elif kind == "shared_passage":
            rec.setdefault("shared_passages", []).append(
                {k: link[k] for k in ("id", "chars", "passages", "sample", "run")})
        elif kind == "canonical":
            rec["canonical"] = link["id"]


def export_bag(root: Path, out: Path, run: str | None = None) -> Path:
    """A BagIt bag of one run (the newest when `run` is None): its records, raws and metadata.

    Refused when the audit finds anything wrong with the archive (a bag hands on evidence; a
    damaged or crafted archive must not become a valid-looking bag). Every file is written
    inside `out`: the object's paths were checked by `ocfl.head_files`, and again here.
    """
    import bagit

    from archive.audit import audit

    root = Path(root)
    if not ocfl.is_root(root):
        raise FileNotFoundError(f"{root} is not a docclean archive (no OCFL storage root there)")
    obj, files = run_object(root, run)
    problems = audit(root, [obj.name])
    if problems:
        raise ocfl.OcflError(f"the audit rejects {root} ({len(problems)} problem(s), first: "
                             f"{problems[0]}): run `docclean audit {root}`; no bag written")
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists: give a new folder for the bag")
    out.mkdir(parents=True)
    base = out.resolve()
    for logical, path in files.items():
        target = out / ocfl.check_relative(logical)
        if base not in target.resolve().parents:
            raise ocfl.OcflError(f"{logical!r} would be written outside {out}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target, follow_symlinks=False)
    bagit.make_bag(str(out), {"Source-Organization": "docclean", "External-Identifier": obj.name},
                   checksums=["sha256", "sha512"])
    return out
