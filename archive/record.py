"""The archived record (DESIGN.md "The record"): built from cleaned inputs, checked by schema.

The JSON Schema ships in the package (`archive/record.schema.json`); every record the writer
produces is validated against it before it is written, and the audit validates again.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

from archive.batch import CleanResult
from cleaners import __version__
from cleaners.config import PipelineConfig

METADATA_KEYS = ("url", "published", "publisher", "doc_number", "issuer")
# The provenance's shape. 2 (issue #17): besides what each step says, its measured `edit`s of
# the text ({"start", "end"} of the step's input, and "after") and `set`s of fields
# ({"field"}, "before", "after"), so each step replays (`cleaners.runner.replay`); a record
# without this key has version 1 (explanations only, `where` always a label).
TRAIL_VERSION = 2


@cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("archive").joinpath("record.schema.json").read_text(encoding="utf-8"))
    return data


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


def schema_errors(record: Any) -> list[str]:
    """Every way `record` breaks the schema, as 'path: message' lines (empty when valid)."""
    errors = sorted(_validator().iter_errors(record), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}" for e in errors]


def provenance(trail: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trail as the record's `provenance`: one entry per change, or per unchanged step."""
    out = []
    for entry in trail:
        if not entry["changes"]:
            out.append({"step": entry["step"], "version": entry["version"],
                        "changed": entry["changed"], "details": {}})
        for change in entry["changes"]:
            out.append({"step": entry["step"], "version": entry["version"],
                        "changed": entry["changed"], "details": change})
    return out


def build(record_id: str, key: str, kept: CleanResult, members: list[CleanResult],
          cfg: PipelineConfig, run_id: str,
          near: list[dict[str, Any]] | None = None,
          shared: list[dict[str, Any]] | None = None, canonical: str | None = None,
          cluster_size: int = 1, common: list[str] | None = None) -> dict[str, Any]:
    """The record for one document: `kept` is the canonical input, `members` every input."""
    metadata = {k: kept.metadata.get(k) for k in METADATA_KEYS}
    metadata.update({k: v for k, v in kept.metadata.items() if k not in metadata})
    # Other inputs may have found what the kept one did not (one copy had the URL trailer).
    for member in members:
        for k, v in member.metadata.items():
            if metadata.get(k) is None and v is not None:
                metadata[k] = v
    record = {
        "id": record_id,
        "title": kept.title,
        "text": kept.text,
        "script": cfg.convert.target,
        "metadata": metadata if any(v is not None for v in metadata.values()) else None,
        "sources": [m.source_entry() for m in members],
        "provenance": provenance(kept.trail),
        "near_duplicates": near or [],
        "canonical": canonical or record_id,     # the record a near-duplicate cluster points to
        "cluster_size": cluster_size,            # records in its near-duplicate cluster (1: none)
        "shared_passages": shared or [],
        "common_passages": common or [],         # ids in metadata/common_passages.jsonl of its run
        "pipeline": {"version": __version__, "config_sha256": cfg.sha256(),
                     "trail_version": TRAIL_VERSION},
        "dedup_key": key,
        # exact fixity of the text itself, independent of how dedup keys are normalised
        "text_sha256": hashlib.sha256(kept.text.encode("utf-8")).hexdigest(),
        "archived_in": run_id,
    }
    return record


def dumps(record: dict[str, Any]) -> bytes:
    """Canonical bytes of a record: stable key order, UTF-8, so reruns are byte-identical."""
    return (json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
