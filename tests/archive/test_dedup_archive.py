"""Dedup through the archive (#7): one record per document across encodings, scripts and
mojibake; shared passages linked, not merged; near duplicates linked both ways, across runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.audit import audit
from archive.cli import main
from cleaners.script import to_script


def _mojibake(text: str) -> str:
    """UTF-8 bytes read as GB18030, line by line (a line that will not decode stays clean)."""
    out = []
    for line in text.split("\n"):
        try:
            out.append(line.encode("utf-8").decode("gb18030"))
        except UnicodeDecodeError:
            out.append(line)
    return "\n".join(out)


def _copies(seed_paths: list[Path], inbox: Path) -> dict[str, set[str]]:
    """Each seed plus its re-encoded, Simplified and mojibake copies: seed name → file names."""
    inbox.mkdir()
    made: dict[str, set[str]] = {}
    for path in seed_paths:
        text = path.read_text(encoding="utf-8")
        stem = path.stem[:3]
        variants = {
            f"{stem}.utf8.txt": text.encode("utf-8"),
            f"{stem}.gb18030.txt": text.encode("gb18030"),
            f"{stem}.utf16.txt": text.encode("utf-16"),
            f"{stem}.hans.txt": to_script(text, "hans").encode("utf-8"),
            f"{stem}.mojibake.txt": _mojibake(text).encode("utf-8"),
        }
        try:
            variants[f"{stem}.big5.txt"] = text.encode("big5hkscs")
        except UnicodeEncodeError:
            pass  # seed 000 has 爲, which Big5-HKSCS lacks: no honest Big5 copy exists
        for name, data in variants.items():
            (inbox / name).write_bytes(data)
        made[stem] = set(variants)
    return made


def _export(root: Path, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["export", str(root)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture(scope="module")
def copies_archive(seed_paths, tmp_path_factory):
    base = tmp_path_factory.mktemp("dedup")
    made = _copies(seed_paths, base / "inbox")
    root = base / "archive"
    assert main(["run", str(base / "inbox"), "--archive", str(root), "--quiet"]) == 0
    return root, made


def test_copies_of_the_seeds_give_exactly_five_records_listing_every_input(copies_archive, capsys):
    root, made = copies_archive
    records = _export(root, capsys)
    assert len(records) == 5
    by_seed = {}
    for rec in records:
        names = {Path(s["path"]).name for s in rec["sources"]}
        stems = {n[:3] for n in names}
        assert len(stems) == 1, names
        by_seed[stems.pop()] = names
    assert by_seed == made
    assert audit(root) == []


def test_seeds_000_and_001_share_passages_but_stay_two_records(copies_archive, capsys):
    root, _ = copies_archive
    records = {Path(r["sources"][0]["path"]).name[:3]: r for r in _export(root, capsys)}
    a, b = records["000"], records["001"]
    assert a["id"] != b["id"]
    assert [s["id"] for s in a["shared_passages"]] == [b["id"]]
    assert [s["id"] for s in b["shared_passages"]] == [a["id"]]
    shared = a["shared_passages"][0]
    assert shared["chars"] >= 100
    start, end = map(int, shared["passages"][0]["here"].removeprefix("chars ").split("-"))
    assert a["text"][start:end] in b["text"] or len(a["text"][start:end]) > 40
    assert a["near_duplicates"] == [] and b["near_duplicates"] == []


def test_a_near_duplicate_next_night_is_linked_both_ways_not_merged(seed_paths, tmp_path, capsys):
    root = tmp_path / "archive"
    seed = seed_paths[3]                                   # 003, the news article
    assert main(["run", str(seed), "--archive", str(root), "--quiet"]) == 0
    text = seed.read_text(encoding="utf-8")
    mirror = text.replace("中國西藏網 > 即時新聞 > 時政", "新華網 > 時政頻道").replace(
        "下一步該怎么干?", "下一步該怎么干?各地正在行動。")
    (tmp_path / "mirror.txt").write_text(mirror, encoding="utf-8")
    assert main(["run", str(tmp_path / "mirror.txt"), "--archive", str(root), "--quiet"]) == 0
    records = {Path(r["sources"][0]["path"]).name: r for r in _export(root, capsys)}
    old, new = records[seed.name], records["mirror.txt"]
    assert old["id"] != new["id"]
    assert [n["id"] for n in new["near_duplicates"]] == [old["id"]]
    assert [n["id"] for n in old["near_duplicates"]] == [new["id"]]   # merged in from links.jsonl
    similarity = new["near_duplicates"][0]["similarity"]
    assert 0.8 <= similarity < 1.0
    assert old["canonical"] == new["canonical"] in {old["id"], new["id"]}
    assert audit(root) == []


def test_the_copy_that_arrived_intact_is_kept_over_one_rebuilt_from_mojibake(seed_paths, tmp_path, capsys):
    """Two inputs that clean to one text: the record's text and provenance come from the copy
    repair did not touch, although the garbled copy's path sorts first (the last tie-break)."""
    text = seed_paths[0].read_text(encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-mirror.txt").write_bytes(_mojibake(text).encode("utf-8"))
    (inbox / "b-original.txt").write_bytes(text.encode("utf-8"))
    root = tmp_path / "archive"
    assert main(["run", str(inbox), "--archive", str(root), "--quiet"]) == 0
    (record,) = _export(root, capsys)
    paths = [Path(s["path"]).name for s in record["sources"]]
    assert paths == ["b-original.txt", "a-mirror.txt"]
    assert not [p for p in record["provenance"]
                if p["step"] == "mojibake.repair" and p["details"].get("action") not in (None, "flag")]
    assert audit(root) == []


# --- clusters, not pairs (#16) ----------------------------------------------------------------

def _config(tmp_path: Path, **values: int) -> str:
    path = tmp_path / "dedup.toml"
    path.write_text("[dedup]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()), encoding="utf-8")
    return str(path)


def test_a_story_copied_past_the_link_cap_is_one_cluster_with_capped_links(seed_paths, tmp_path, capsys):
    """Six mirrors of one article: one cluster of six with one canonical, each record listing the
    canonical and at most `max_near_links` other members, not all five."""
    seed = seed_paths[3]
    text = seed.read_text(encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sites = ["新華網", "人民網", "央視網", "光明網", "中新網", "環球網"]
    for n, site in enumerate(sites):
        mirror = text.replace("中國西藏網 > 即時新聞 > 時政", f"{site} > 時政頻道").replace(
            "下一步該怎么干?", f"下一步該怎么干?{site}記者第{n}次報道。")
        (inbox / f"mirror-{n}.txt").write_text(mirror, encoding="utf-8")
    root = tmp_path / "archive"
    config = _config(tmp_path, max_near_links=2)
    assert main(["run", str(inbox), "--archive", str(root), "--quiet", "--config", config]) == 0
    records = _export(root, capsys)
    assert len(records) == len(sites)
    ids = {r["id"] for r in records}
    (canonical,) = {r["canonical"] for r in records}
    assert canonical in ids
    for rec in records:
        assert rec["cluster_size"] == len(sites)
        linked = [n["id"] for n in rec["near_duplicates"]]
        assert rec["id"] not in linked and set(linked) <= ids
        assert (canonical in linked) == (rec["id"] != canonical)
        assert 2 <= len(linked) <= 3          # the canonical and the two nearest, at most
        assert all(0.7 <= n["similarity"] <= 1.0 for n in rec["near_duplicates"])
    assert audit(root) == []


def test_a_paragraph_every_document_carries_is_one_common_passage_not_pairs(seed_paths, tmp_path, capsys):
    """The five seeds, each with the same disclaimer: with common_passage_docs = 3 the
    disclaimer is one common passage held by five records, and it links no pair; seeds 000 and
    001 still share their own passages."""
    disclaimer = ("本網站所載文章僅代表作者本人觀點，不代表本網立場；如有侵權請與我們聯繫，"
                  "我們將在核實後第一時間刪除相關內容並公開致歉。")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in seed_paths:
        (inbox / path.name).write_text(path.read_text(encoding="utf-8") + "\n" + disclaimer + "\n",
                                       encoding="utf-8")
    root = tmp_path / "archive"
    config = _config(tmp_path, common_passage_docs=3)
    assert main(["run", str(inbox), "--archive", str(root), "--quiet", "--config", config]) == 0
    records = {Path(r["sources"][0]["path"]).name[:3]: r for r in _export(root, capsys)}
    assert len(records) == 5
    (obj,) = [p for p in root.iterdir() if p.name.startswith("run-")]
    lines = (obj / "v1" / "content" / "metadata" / "common_passages.jsonl").read_text(encoding="utf-8")
    passages = [json.loads(line) for line in lines.splitlines()]
    (passage,) = [p for p in passages if "观点" in p["text"]]
    assert passage["documents"] == 5
    assert set(passage["holders"]) <= {r["id"] for r in records.values()} and len(passage["holders"]) == 5
    for rec in records.values():
        assert passage["id"] in rec["common_passages"]
    assert [s["id"] for s in records["000"]["shared_passages"]] == [records["001"]["id"]]
    for name in ("002", "003", "004"):
        assert records[name]["shared_passages"] == []
    assert audit(root) == []


def test_a_run_streams_chunks_with_worker_features_and_reports_every_phase(seed_paths, tmp_path):
    """Results reach the writer a chunk at a time, carrying the dedup features the cleaning
    process computed (the writer recomputes nothing); progress names each phase."""
    from archive import batch, flow
    from archive.startup import load_config
    from cleaners import dedup

    cfg = load_config()
    inputs = iter(seed_paths * 4)              # a generator: nothing needs the inputs' count
    chunks = list(batch.iter_clean(inputs, cfg, None, jobs=1))
    assert len(chunks) == 3 and all(len(results) <= batch.POOL_CHUNK for results, _ in chunks)
    for results, _ in chunks:
        for r in results:
            assert r.key == dedup.dedup_key(r.text)
            assert r.minhash == dedup.minhash(r.text, cfg.dedup)
            assert set(r.fingerprints) == dedup.passage_fingerprints(r.text, cfg.dedup)
    seen: list[tuple[str, int, int | None]] = []
    summary = flow.run_paths([str(p) for p in seed_paths], tmp_path / "archive", cfg,
                             progress=lambda phase, done, total: seen.append((phase, done, total)))
    assert ("clean", 5, 5) in seen and ("link", 5, 5) in seen and seen[-1] == ("write", 5, 5)
    assert [p for p, _, _ in seen] == sorted((p for p, _, _ in seen), key=["clean", "link", "write"].index)
    assert len(summary.dispositions) == 5 and {d["disposition"] for d in summary.dispositions} == {"archived"}
    assert audit(tmp_path / "archive") == []
