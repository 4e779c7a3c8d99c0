"""The model and the runner: frozen documents, the trail, per-step stats, step selection."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from archive.startup import load_config
from cleaners import pipeline, runner
from cleaners.config import PipelineConfig
from cleaners.model import Change, CleaningError, Document, Explained, Rejected, Source


def _doc(raw: bytes = "數字政府\n".encode()) -> Document:
    return Document(Source.from_bytes("x.txt", raw), raw=raw)


def _step(fn, name="test.step"):
    return pipeline.Step("test", name, "9", "strip", fn)


def test_document_is_frozen_and_picklable():
    doc = _doc()
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.text = "changed"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(doc)) == doc
    assert doc.source.size == len("數字政府\n".encode())
    assert len(doc.source.sha256) == 64


def test_change_kept_only_when_text_changed_but_flags_always():
    noisy = Change("test.step", "apply", "rule:x", "line 1", "would change")
    flag = Change("test.step", "flag", "U+FFFD", "line 1", "left alone")
    unchanged = _step(lambda d, c: Explained(d.text, (noisy, flag)))
    changed = _step(lambda d, c: Explained(d.text + "!", (noisy,)), "test.change")
    stats = runner.Stats()
    out = runner.run(_doc(), load_config(), stats, steps=(pipeline.STEPS[0], unchanged, changed))
    assert isinstance(out, Document)
    entries = {e.step: e for e in out.trail}
    assert entries["test.step"].changed is False
    assert entries["test.step"].changes == (flag,)
    assert entries["test.change"].changed is True
    assert entries["test.change"].changes == (noisy,)
    assert out.text == "數字政府\n!"
    assert stats["test.change"].changed == 1 and stats["test.step"].changed == 0
    assert stats["encoding.detect"].bytes_in == len("數字政府\n".encode())


def test_rejection_stops_the_document_and_counts_by_reason():
    stats = runner.Stats()
    out = runner.run(_doc(b""), load_config(), stats)
    assert isinstance(out, Rejected) and out.reason == "empty_input"
    assert stats["encoding.detect"].dropped == 1
    assert stats["encoding.detect"].to_json()["dropped_empty_input"] == 1
    assert "mojibake.repair" not in stats


def test_metadata_merges_without_erasing_and_chars_removed_counted():
    first = _step(lambda d, c: Explained(d.text[:2], metadata={"url": "https://a", "issuer": None}), "s.one")
    second = _step(lambda d, c: Explained(d.text, metadata={"url": None, "publisher": "新華社"}), "s.two")
    stats = runner.Stats()
    out = runner.run(_doc(), load_config(), stats, steps=(pipeline.STEPS[0], first, second))
    assert out.metadata == {"url": "https://a", "publisher": "新華社"}
    assert stats["s.one"].chars_removed == len("數字政府\n") - 2


def test_stats_merge_and_round_trip():
    a, b = runner.Stats(), runner.Stats()
    runner.run(_doc(), load_config(), a)
    runner.run(_doc(b""), load_config(), b)
    a.merge(b)
    assert a["encoding.detect"].total == 2 and a["encoding.detect"].dropped == 1
    again = runner.Stats.from_json(a.to_json())
    assert again.to_json() == a.to_json()


def test_select_until_and_only():
    assert [s.short for s in pipeline.select()] == list(pipeline.STEP_NAMES)
    assert [s.short for s in pipeline.select(until="repair")] == ["decode", "extract", "repair"]
    assert [s.short for s in pipeline.select(only="convert")] == ["decode", "convert"]
    assert [s.short for s in pipeline.select(only="decode")] == ["decode"]
    with pytest.raises(CleaningError, match="unknown step"):
        pipeline.select(until="bogus")


def test_order_is_the_designed_one():
    assert pipeline.STEP_NAMES == ("decode", "extract", "repair", "strip", "convert", "dedup")


def test_config_toml_overrides_and_errors(tmp_path):
    good = tmp_path / "c.toml"
    good.write_text('[convert]\ntarget = "tw"\n')
    cfg = load_config(good)
    assert cfg.convert.target == "tw"
    assert cfg.sha256() != PipelineConfig().sha256()
    assert PipelineConfig.from_dict(cfg.to_dict()) == cfg
    bad = tmp_path / "bad.toml"
    bad.write_text("[convert]\nnope = 1\n")
    with pytest.raises(CleaningError, match="unknown keys"):
        load_config(bad)
    with pytest.raises(CleaningError, match="unknown script"):
        load_config(script="latin")
