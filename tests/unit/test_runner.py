"""The model and the runner: frozen documents, the trail, per-step stats, step selection."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from archive.startup import load_config
from cleaners import pipeline, runner
from cleaners.config import PipelineConfig
from cleaners.model import Change, CleaningError, Document, Explained, Rejected, Source, Span


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
    # what the step said, then what the runner measured it did (issue #17)
    assert entries["test.change"].changes == (
        noisy, Change("test.change", "edit", "text", Span(5, 5), "", {"after": "!"}))
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


def test_a_title_or_metadata_change_alone_is_recorded_and_replays():
    """Issue #17: a step that changed only the title used to leave `changed=False` and no
    change; now the runner records each field it set, and the step's own explanation."""
    said = Change("test.title", "convert", "opencc:t2s.json", "title", "one script")
    titled = _step(lambda d, c: Explained(d.text, (said,), metadata={"publisher": "新華社"},
                                          title="數字政府"), "test.title")
    doc = runner.run(_doc(), load_config(), steps=(pipeline.STEPS[0], titled))
    assert isinstance(doc, Document)
    entry = doc.trail[-1]
    assert entry.changed is True
    assert [c.what for c in entry.changes] == ["opencc:t2s.json", "title", "metadata.publisher"]
    before = doc.trail[0]
    assert runner.replay_fields(None, {}, {}, entry.changes) == ("數字政府", {"publisher": "新華社"}, {})
    assert before.step == "encoding.detect"


def test_text_edits_replay_exactly_on_awkward_diffs():
    cases = [("", "abc"), ("abc", ""), ("a\nb\nc\n", "c\nb\na\n"), ("甲乙\r\n丙", "甲乙丙"),
             ("x\n" * 50, "x\n" * 49 + "y\n"), ("同一行", "同一行\n"), ("a\n\n\nb", "a\nb")]
    for old, new in cases:
        edits = runner.text_edits(old, new)
        assert runner.replay_edits(old, edits) == new, (old, new, edits)
    assert runner.text_edits("same", "same") == []
    many = runner.text_edits("a\nb\nc\nd\n", "A\nb\nC\nd\n", max_edits=1)
    assert many == [(0, 5, "A\nb\nC")]
    assert runner.replay_edits("a\nb\nc\nd\n", many) == "A\nb\nC\nd\n"
