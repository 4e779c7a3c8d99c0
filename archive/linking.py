"""Links between documents that are not one document: near duplicates and shared passages.

Exact duplicates become one record (`cleaners.dedup.decide`). What is *like* another document is
linked instead, never merged (DESIGN.md step 7):
- near duplicates (the same article with other chrome or small edits): MinHash LSH candidates
  from this run and from the archive index, verified on exact shingle Jaccard; linked both ways
  with their similarity, and each cluster gets a canonical record by `dedup.choose_canonical`
  (most complete text, then earliest publish time, then an official source);
- shared passages (seed 000 quotes whole passages of seed 001): winnowing fingerprints find the
  pairs, `dedup.shared_passages` finds the passages; recorded on both sides.

Records already archived are immutable: links onto them are written to the new run's
`metadata/links.jsonl`, and `docclean export` merges them into those records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from archive.index import Features, Index
from cleaners import dedup
from cleaners.dedup import Candidate, DedupConfig

# A passage sample in a link is for a person to recognise it, not a copy of it (chars).
SAMPLE_CHARS = 60


@dataclass
class Links:
    near: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    shared: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    canonical: dict[str, str] = field(default_factory=dict)
    onto_archived: list[dict[str, Any]] = field(default_factory=list)   # → metadata/links.jsonl


class _Texts(Mapping[str, str]):
    """This run's texts, and archived ones read on demand (only candidates are ever read)."""

    def __init__(self, new: Mapping[str, str], index: Index) -> None:
        self.new, self.index, self.cache = new, index, dict[str, str]()

    def __getitem__(self, rid: str) -> str:
        if rid in self.new:
            return self.new[rid]
        if rid not in self.cache:
            self.cache[rid] = self.index.record_text(rid)
        return self.cache[rid]

    def __contains__(self, rid: object) -> bool:
        return rid in self.new or (isinstance(rid, str) and self.index.record_object(rid) is not None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.new)

    def __len__(self) -> int:
        return len(self.new)


def link(new: Mapping[str, tuple[str, Candidate, Features]], index: Index, cfg: DedupConfig) -> Links:
    """Links for this run's new records (`record id → (text, candidate, features)`)."""
    links = Links()
    if not new:
        return links
    texts = _Texts({rid: v[0] for rid, v in new.items()}, index)
    sigs = {rid: v[2].minhash for rid, v in new.items()}
    archived = {rid: sig for rid, sig in index.near_candidates(sigs.values()).items() if rid not in new}
    near_pairs = dedup.near_duplicates(sigs, cfg, known=archived, texts=texts)
    for pair in near_pairs:
        _add_near(links, pair.a, pair.b, pair.similarity, new)
    _choose_canonicals(links, near_pairs, new, index, cfg)

    prints = {rid: v[2].fingerprints for rid, v in new.items()}
    everything = set().union(*prints.values()) if prints else set()
    owners = {rid: fps for rid, fps in index.passage_owners(everything).items() if rid not in new}
    near = {frozenset((p.a, p.b)) for p in near_pairs}
    for a, b in dedup.passage_candidates(prints, known=owners):
        if frozenset((a, b)) in near:
            continue
        passages = dedup.shared_passages(texts[a], texts[b], cfg)
        if passages:
            _add_shared(links, a, b, passages, new)
    return links


def _add_near(links: Links, a: str, b: str, similarity: float, new: Mapping[str, Any]) -> None:
    for here, there in ((a, b), (b, a)):
        if here in new:
            links.near.setdefault(here, []).append({"id": there, "similarity": similarity})
        else:
            links.onto_archived.append({"record": here, "kind": "near_duplicate", "id": there,
                                        "similarity": similarity})


def _add_shared(links: Links, a: str, b: str, passages: list[dedup.SharedPassage],
                new: Mapping[str, Any]) -> None:
    chars = sum(p.chars for p in passages)
    sample = passages[0].text[:SAMPLE_CHARS]
    sides = ((a, b, [{"here": f"chars {p.a_start}-{p.a_end}", "there": f"chars {p.b_start}-{p.b_end}",
                      "chars": p.chars} for p in passages]),
             (b, a, [{"here": f"chars {p.b_start}-{p.b_end}", "there": f"chars {p.a_start}-{p.a_end}",
                      "chars": p.chars} for p in passages]))
    for here, there, spans in sides:
        entry = {"id": there, "chars": chars, "passages": spans, "sample": sample}
        if here in new:
            links.shared.setdefault(here, []).append(entry)
        else:
            links.onto_archived.append({"record": here, "kind": "shared_passage", **entry})


def _choose_canonicals(links: Links, pairs: list[dedup.NearDuplicate],
                       new: Mapping[str, tuple[str, Candidate, Features]], index: Index,
                       cfg: DedupConfig) -> None:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        parent[find(pair.a)] = find(pair.b)
    clusters: dict[str, list[str]] = {}
    for member in list(parent):
        clusters.setdefault(find(member), []).append(member)
    for members in clusters.values():
        candidates = [new[m][1] if m in new else index.candidate(m) for m in sorted(members)]
        chosen = dedup.choose_canonical([c for c in candidates if c is not None], cfg).id
        for member in members:
            if member in new:
                links.canonical[member] = chosen
            else:
                links.onto_archived.append({"record": member, "kind": "canonical", "id": chosen})
