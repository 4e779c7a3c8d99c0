"""Build cleaners/data/script_opencc_regional.json: the inverse of the Taiwan phrase table that
OpenCC's ``s2twp`` applies, read from the pinned OpenCC's own dictionaries (issue #22).

Usage: python scripts/make_opencc_regional.py [OUT]   (default: the file in cleaners/data)

Needs `marisa-trie` (pip install marisa-trie), only here, like make_opencc_variants.py: OpenCC's
.ocd2 files are marisa tries, and OpenCC's API converts text but cannot list a dictionary's
keys. It also needs `jieba` (pip install jieba==0.42.1, MIT), only here: its dictionary's word
frequencies, counted on mainland text, say how often a mainland writer uses each Taiwan word
and each mainland word it stands for (the "mainland_freq" map; see "How often" below). Run it
again after upgrading the `opencc` pin; a test fails while the sha256 of any file
listed under "files" differs from the installed OpenCC's.

What s2twp does to a mainland text (checked below against s2twp.json): s2t's conversion, then
one pass that matches, longest key first, ``TWPhrases`` (mainland word → Taiwan word: 數據庫 →
資料庫, 軟件 → 軟體), then Taiwan variant phrases and characters. A TWPhrases value is written
as it stands, so the damage a mainland document carries is exactly the table's values, and
their inverse gives its words back. The file lists, for every Taiwan word s2twp writes, the
mainland words it stands for (one, or several: 介面 is 接口 or 界面), and the keys s2twp keeps
as they are (方程式, 司法程序): the reversal matches those too, so 程序 inside 司法程序 is never
read as s2twp's 程序 for 進程.

What the inverse cannot know from the dictionaries alone — which of several mainland words a
Taiwan word stands for, and which Taiwan words are also ordinary mainland words (智慧, 資料,
執行) — is decided in cleaners/data/script_regional_phrases.tsv, with a reason per row; a
generated term without a row there is decided by how often a mainland writer uses it.

How often: s2twp writes 指標 for 指針, but 指標 (an indicator) is one of the commonest mainland
words, so a 指標 in a converted text is far more often the writer's own than the converter's.
The dictionary cannot say so; a mainland word-frequency list can. jieba's dictionary (its
dict.txt: ~350,000 words with counts from mainland text) gives, for every Taiwan word and every
mainland word it stands for, its count (0 when absent), stored under "mainland_freq" in
Simplified; cleaners/script.py compares the two (``ConvertConfig`` says where the lines are).
The same counts name the mainland words that hold a Taiwan word without being s2twp's doing
(理查德 holds 查德, 電子音樂 holds 子音, 生產資料 holds 資料): a word of jieba's, counted at
least `KEEP_MIN_COUNT` times, more often than any spelling with the Taiwan word given back
(理乍得, 電輔音樂). They are listed under "kept_mainland" (Simplified): the reversal matches them
as whole words and leaves them alone, as it does s2twp's own kept keys.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import opencc

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from make_opencc_variants import keys, sha256  # noqa: E402

from archive.startup import opencc_share_dir  # noqa: E402

OUT = REPO / "cleaners" / "data" / "script_opencc_regional.json"
# jieba count a mainland word holding a Taiwan word needs to be kept whole (counts): 10, as
# cleaners/script.py's ordinary_min_count, above the 2-3 of words jieba took from word lists.
KEEP_MIN_COUNT = 10
CONFIG = "s2twp.json"
PHRASES = "TWPhrases.ocd2"


def single(share: Path, name: str, tmp: Path) -> opencc.OpenCC:
    """A converter made of one dictionary alone (absolute path): its value for a key."""
    config = tmp / f"{name}.json"
    config.write_text(json.dumps({"name": name, "conversion_chain": [
        {"dict": {"type": "ocd2", "file": str(share / name)}}]}))
    return opencc.OpenCC(str(config))


def check_config(share: Path) -> list[str]:
    """The files of s2twp.json's Taiwan pass, after asserting the shape the inverse assumes:
    a second conversion whose first dictionary is TWPhrases, matched before the variants."""
    config = json.loads((share / CONFIG).read_text("utf-8"))
    chain = config["conversion_chain"]
    assert len(chain) == 2, CONFIG
    second = chain[1]["dict"]
    assert second["type"] == "group" and second["match_policy"] == "short_circuit", CONFIG
    files = [d["file"] for d in second["dicts"]]
    assert files[0] == PHRASES and all(d["type"] == "ocd2" for d in second["dicts"]), CONFIG
    return files


def jieba_version() -> str:
    import jieba

    return str(jieba.__version__)


def mainland_frequencies() -> dict[str, int]:
    """jieba's dictionary: word -> count (lines are "word count part-of-speech")."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    freq: dict[str, int] = {}
    for line in path.read_text("utf-8").splitlines():
        cells = line.split()
        if len(cells) >= 2:
            freq[cells[0]] = int(cells[1])
    return freq


def kept_mainland(freq: dict[str, int], inverse: dict[str, list[str]], t2s: opencc.OpenCC) -> list[str]:
    """jieba's words that hold a Taiwan word of `inverse` and are not s2twp's doing (above)."""
    import ahocorasick_rs

    simplified = {t2s.convert(t): [t2s.convert(k) for k in keys] for t, keys in inverse.items()}
    terms = [t for t in simplified if len(t) >= 2]
    finder = ahocorasick_rs.AhoCorasick(terms, matchkind=ahocorasick_rs.MatchKind.Standard)
    kept = []
    for word, count in freq.items():
        if count < KEEP_MIN_COUNT or word in simplified:
            continue
        for k, a, b in finder.find_matches_as_indexes(word, overlapping=True):
            given_back = max(freq.get(word[:a] + m + word[b:], 0) for m in simplified[terms[k]])
            if count > given_back:
                kept.append(word)
                break
    return sorted(kept)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT
    share = opencc_share_dir()
    if share is None:
        sys.exit("the installed opencc package has no clib/share/opencc folder")
    files = check_config(share)
    with tempfile.TemporaryDirectory() as tmp:
        phrases = single(share, PHRASES, Path(tmp))
        table = {key: phrases.convert(key) for key in keys(share / PHRASES)}
    inverse: dict[str, list[str]] = {}
    kept = sorted(k for k, v in table.items() if k == v)
    for key, value in sorted(table.items()):
        if key != value:
            inverse.setdefault(value, []).append(key)
    freq = mainland_frequencies()
    t2s = opencc.OpenCC("t2s.json")
    words = {w for keys in inverse.values() for w in keys} | set(inverse)
    simplified = {w: t2s.convert(w) for w in words}
    doc = {
        "about": "Generated by scripts/make_opencc_regional.py from the pinned OpenCC's "
                 "TWPhrases (its docstring says how): Taiwan word -> the mainland words s2twp "
                 "writes it for; 'kept' are keys s2twp leaves as they are. Decisions about "
                 "ambiguous words live in script_regional_phrases.tsv. 'mainland_freq': jieba's "
                 "dictionary count of each word (Simplified), how often a mainland writer uses it.",
        "opencc": opencc.__version__,
        "config": CONFIG,
        "files": {name: sha256(share / name) for name in [CONFIG, *files]},
        "inverse": inverse,
        "kept": kept,
        "jieba": jieba_version(),
        "mainland_freq": {simplified[w]: freq.get(simplified[w], 0) for w in sorted(words)},
        "kept_mainland": kept_mainland(freq, inverse, t2s),
    }
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=0, sort_keys=True) + "\n", "utf-8")
    several = sum(len(v) > 1 for v in inverse.values())
    print(f"{PHRASES}: {len(table)} keys, {len(inverse)} Taiwan words ({several} for several "
          f"mainland words), {len(kept)} kept as they are -> {out}")
    return 0


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    raise SystemExit(main(sys.argv[1:]))
