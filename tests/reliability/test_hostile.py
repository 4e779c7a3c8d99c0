"""A generated hostile corpus (issue #23): over 1,000 small files of every hostile kind, run
under small limits (the same code paths as the default limits at full size, which `make
stress` exercises). Exit 0, every good file archived, every bad one rejected with its reason,
peak memory measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hostile import write_corpus, write_oversized

from archive.audit import audit

DOCCLEAN = Path(sys.executable).parent / "docclean"
LIMITS = {"max_input_bytes": 200_000, "max_text_chars": 20_000, "max_html_elements": 2_000,
          "max_char_references": 500, "max_trail_changes": 50}
# each kind a little over its limit under LIMITS (the generator adds the file's index)
SIZES = {"entity_flood": 600, "entity_flood_html": 600, "long_line": 25_000,
         "long_line_html": 25_000, "deep_nesting": 1_100, "many_elements": 1_100,
         "many_lines": 3_000, "script_only": 100, "binary": 300}
MAX_RSS_MB = 500


def peak_rss_mb(argv: list[str]) -> tuple[int, float, str]:
    """Run `argv` in a fresh interpreter; (exit code, peak RSS of it and its workers in MB, stdout)."""
    probe = ("import resource, subprocess, sys, json; p = subprocess.run(sys.argv[1:], capture_output=True, "
             "text=True); print(json.dumps([p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN)"
             ".ru_maxrss / 1024, p.stdout[-2000:] + p.stderr[-2000:]]))")
    out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True)
    code, rss, text = json.loads(out.stdout)
    return code, rss, text


def test_the_hostile_corpus_archives_the_good_and_rejects_the_bad(tmp_path):
    inbox = tmp_path / "in"
    expected = write_corpus(inbox, good=500, hostile_each=55, sizes=SIZES)
    for size in (LIMITS["max_input_bytes"] + 1, 1 << 30):           # sparse: nothing is read
        expected[write_oversized(inbox, size).name] = "too_large"
    assert len(expected) >= 1000
    config = tmp_path / "limits.toml"
    config.write_text("[limits]\n" + "".join(f"{k} = {v}\n" for k, v in LIMITS.items()))
    root = tmp_path / "a"
    code, rss, text = peak_rss_mb([str(DOCCLEAN), "run", str(inbox), "--archive", str(root),
                                   "--config", str(config), "--quiet", "--jobs", "2"])
    print(f"hostile corpus: {len(expected)} files, peak RSS {rss:.0f} MB")
    assert code == 0, text
    assert rss < MAX_RSS_MB
    fate = {}
    for line in next(root.glob("run-*/v1/content/metadata/dispositions.jsonl")).read_text().splitlines():
        d = json.loads(line)
        name = os.fsdecode(bytes.fromhex(d["path_bytes"])) if "path_bytes" in d else d["path"]
        fate[Path(name).name] = d
    assert set(fate) == set(expected)
    wrong = {name: (fate[name]["disposition"], fate[name].get("reason"))
             for name, reason in expected.items()
             if (fate[name]["disposition"], fate[name].get("reason")) !=
             (("archived", None) if reason is None else ("rejected", reason))}
    by_kind: dict[str, set] = {}
    for name, fate_reason in wrong.items():
        by_kind.setdefault(name.rsplit("-", 1)[0], set()).add(fate_reason)
    assert by_kind == {}
    assert all(fate[n]["sha256"] is None and "raw" not in fate[n] for n in fate if n.startswith("oversized"))
    assert audit(root) == []


def test_a_huge_trail_is_cut_to_the_limit_with_a_count(tmp_path):
    from archive.cli import main

    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "entities.txt").write_bytes("正文：".encode() + b"&amp;lt;" * 400)
    config = tmp_path / "limits.toml"
    config.write_text("[limits]\nmax_trail_changes = 20\n")
    root = tmp_path / "a"
    assert main(["run", str(inbox), "--archive", str(root), "--config", str(config), "--quiet"]) == 0
    rec = json.loads(next(root.glob("run-*/v1/content/records/*.json")).read_text(encoding="utf-8"))
    steps = [p for p in rec["provenance"] if p["step"] == "mojibake.repair"]
    # the step's explanations are cut; the runner's measured edits are kept (bounded by the
    # same limit) so the step still replays (issue #17)
    repair = [p for p in steps if p["details"]["action"] not in ("edit", "set")]
    edits = [p for p in steps if p["details"]["action"] == "edit"]
    assert len(repair) == 21 and 1 <= len(edits) <= 20
    assert repair[-1]["details"]["action"] == "truncate" and repair[-1]["details"]["omitted"] == 380


def test_clean_applies_the_same_limits_as_run(tmp_path, capsys, monkeypatch):
    """`docclean clean` on one hostile file is bounded by [limits] as `docclean run` is: an entity
    flood is refused before parsing, an oversized file or stdin unread past the limit."""
    import io

    from archive.cli import main

    config = tmp_path / "limits.toml"
    config.write_text("[limits]\n" + "".join(f"{k} = {v}\n" for k, v in LIMITS.items()))
    flood = tmp_path / "flood.html"
    flood.write_text("<html><body><p>" + "&amp;lt;" * (LIMITS["max_char_references"] + 1) + "</p></body></html>")
    assert main(["clean", str(flood), "--config", str(config)]) == 1
    assert "too_many_char_references" in capsys.readouterr().err
    big = tmp_path / "big.txt"
    big.write_bytes("中文".encode() * LIMITS["max_input_bytes"])
    assert main(["clean", str(big), "--config", str(config)]) == 1
    assert "too_large" in capsys.readouterr().err
    stdin = io.BytesIO("中文".encode() * LIMITS["max_input_bytes"])
    wrapper = io.TextIOWrapper(stdin)
    monkeypatch.setattr(sys, "stdin", wrapper)
    assert main(["clean", "-", "--config", str(config), "--only", "decode"]) == 1
    assert "too_large" in capsys.readouterr().err
    assert stdin.tell() == LIMITS["max_input_bytes"] + 1          # read no further than the limit
    long_text = tmp_path / "long.txt"
    long_text.write_text("数字政府建设。\n" * (LIMITS["max_text_chars"] // 8 + 10))
    assert main(["clean", str(long_text), "--config", str(config), "--until", "strip"]) == 1
    assert "text_too_long" in capsys.readouterr().err
    assert main(["clean", str(long_text), "--config", str(config), "--only", "decode"]) == 0
