"""Build cleaners/data/script_opencc_variants.json: what the exact fast path for s2tw and s2hk
needs to know about the installed OpenCC dictionaries (issue #6).

Usage: python scripts/make_opencc_variants.py [OUT]   (default: the file in cleaners/data)

Needs `marisa-trie` (pip install marisa-trie), only here: OpenCC's .ocd2 files are marisa
tries, and OpenCC's API converts text but cannot list a dictionary's keys. Run it again after
upgrading the `opencc` pin; `cleaners.script` uses the table only while the sha256 of every file
listed under "files" still matches, and a test fails when the pinned OpenCC no longer does.

Why s2tw (and s2hk) may be computed as s2t.json followed by a character table, and when not:

1. Both configs normalise with the same dictionary and have the same first conversion: the
   phrase dictionary D (short-circuit) before STCharacters. s2tw also segments first, by
   maximum matching with D itself; s2t.json converts the text as one segment. Maximum
   matching with D picks the same spans whether it runs in the segmenter or in the converter,
   and STCharacters has single characters only, so the first stage of s2tw equals s2t.json.
   Checked below against the config files (the runtime checks their sha256).
2. The second stage converts each segment by maximum matching with TWVariantsPhrases, then
   TWVariants (single characters). Where no phrase key occurs, that is the character table.
   A phrase key whose value is its characters through the table changes nothing either;
   only the others ("exceptions") can make the result differ, so the fast path falls back to
   the official converter whenever one occurs anywhere in the text.

Each exception has an anchor: its rarest character (by data/encoding_hanzi_freq.tsv), the
one the runtime search looks for first, so common characters such as 台 cost little.
"""
from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import opencc

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archive.startup import opencc_share_dir  # noqa: E402
from cleaners.encoding import _hanzi_table  # noqa: E402
from cleaners.script import VARIANT_TARGETS, opencc_config  # noqa: E402

OUT = REPO / "cleaners" / "data" / "script_opencc_variants.json"
STAGE_ONE = "s2t.json"
HEADER = b"OPENCC_MARISA_0.2.5"


def keys(path: Path) -> list[str]:
    """The keys of an .ocd2 dictionary (a header, then a marisa trie, then the values)."""
    try:
        import marisa_trie
    except ImportError:
        sys.exit("this script reads OpenCC's .ocd2 files with marisa-trie: pip install marisa-trie")
    data = path.read_bytes()
    if not data.startswith(HEADER):
        sys.exit(f"{path}: not an OpenCC marisa dictionary (no {HEADER.decode()} header)")
    with tempfile.NamedTemporaryFile(suffix=".marisa") as fh:
        fh.write(data[len(HEADER):])
        fh.flush()
        trie = marisa_trie.Trie()
        trie.load(fh.name)  # reads the trie, stops before the values
        return sorted(trie.keys())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def second_stage(share: Path, chain: dict, tmp: Path) -> opencc.OpenCC:
    """The target config's second conversion alone, as an OpenCC converter (absolute paths)."""
    group = json.loads(json.dumps(chain["dict"]))
    for entry in group["dicts"]:
        entry["file"] = str(share / entry["file"])
    config = tmp / "second-stage.json"
    config.write_text(json.dumps({"name": "second stage", "conversion_chain": [{"dict": group}]}))
    return opencc.OpenCC(str(config))


def target_entry(target: str, share: Path, freq: dict[str, float], tmp: Path) -> dict:
    config_name = opencc_config(target)
    stage_one = json.loads((share / STAGE_ONE).read_text("utf-8"))
    config = json.loads((share / config_name).read_text("utf-8"))
    first, second = config["conversion_chain"]
    # Fact 1: same normalisation and first conversion; the segmenter's dictionary is the
    # phrase dictionary that conversion tries first; s2t.json does not segment.
    assert "segmentation" not in stage_one, STAGE_ONE
    assert config["normalization"] == stage_one["normalization"], config_name
    assert stage_one["conversion_chain"] == [first], config_name
    assert first["dict"]["match_policy"] == "short_circuit", config_name
    phrases_first, characters_first = first["dict"]["dicts"]
    assert config["segmentation"] == {"type": "mmseg", "dict": phrases_first}, config_name
    assert characters_first["type"] == "ocd2", config_name
    assert all(len(k) == 1 for k in keys(share / characters_first["file"])), characters_first
    # Fact 2: the second conversion is variant phrases, then variant characters.
    assert second["dict"]["match_policy"] == "short_circuit", config_name
    phrase_dict, char_dict = (share / d["file"] for d in second["dict"]["dicts"])
    char_keys = keys(char_dict)
    assert all(len(k) == 1 for k in char_keys), char_dict
    stage = second_stage(share, second, tmp)
    table = {k: v for k in char_keys if (v := stage.convert(k)) != k}
    exceptions = {}
    for key in keys(phrase_dict):
        if stage.convert(key) != "".join(table.get(c, c) for c in key):
            anchor = min(range(len(key)), key=lambda i: freq.get(key[i], -99.0))
            exceptions[key] = anchor
    files = [STAGE_ONE, config_name, characters_first["file"], phrase_dict.name, char_dict.name]
    return {
        "config": config_name,
        "stage_one": STAGE_ONE,
        "files": {name: sha256(share / name) for name in files},
        "characters": table,
        "exceptions": exceptions,
    }


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT
    share = opencc_share_dir()
    if share is None:
        sys.exit("the installed opencc package has no clib/share/opencc folder")
    freq = dict(_hanzi_table())  # the decode step's table, as a plain dict: unknown → -99
    with tempfile.TemporaryDirectory() as tmp:
        targets = {t: target_entry(t, share, freq, Path(tmp)) for t in VARIANT_TARGETS}
    doc = {
        "about": "Generated by scripts/make_opencc_variants.py (its docstring says why the fast "
                 "path is exact); used by cleaners.script only while every listed file's sha256 "
                 "matches the installed OpenCC.",
        "opencc": opencc.__version__,
        "targets": targets,
    }
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")
    for target, entry in targets.items():
        print(f"{target}: {len(entry['characters'])} characters, "
              f"{len(entry['exceptions'])} exception phrases -> {out}")
    return 0


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    raise SystemExit(main(sys.argv[1:]))
