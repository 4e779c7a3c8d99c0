"""Links between documents that are not one document: near-duplicate clusters, shared passages
and common passages, built one record at a time on disk.

Exact duplicates become one record (`cleaners.dedup.decide`). What is *like* another document is
linked instead, never merged (DESIGN.md step 7), over clusters rather than pairs, so that what
one document costs stays bounded however often a story is copied (issue #16):
- near duplicates (the same article with other chrome or small edits) form clusters
  (union-find over MinHash LSH candidates, from this run and from the archive index). A new
  document is verified on exact shingle Jaccard against at most `max_near_links` members of
  each candidate cluster, the nearest by their estimated similarity (a cluster that small keeps
  every pair, as before); a record lists its cluster's canonical (`dedup.choose_canonical`:
  most complete text, then earliest publish time, then an official source) and its
  `max_near_links` nearest verified members, and the cluster's size;
- shared passages (seed 000 quotes whole passages of seed 001): winnowing fingerprints find
  the pairs, `dedup.shared_passages` finds the passages; recorded on both sides. A fingerprint
  held by more than `common_passage_docs` documents is a *common passage* (boilerplate, a
  syndicated quote): it pairs no one; it is recorded once (`common_passages()`: its text, how
  many documents hold it, a sample of them) and each holder names it.

Everything a run accumulates (texts, signatures, band keys, fingerprints, the union-find, the
verified pairs) lives in a scratch SQLite file next to the run's workspace, not in Python
objects, so memory does not grow with the run. Records already archived are immutable: links
onto them come out of `onto_archived()` for the run's `metadata/links.jsonl`, and
`docclean export` merges them into those records.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter, OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archive.index import Features, Index
from cleaners import dedup
from cleaners.dedup import Candidate, DedupConfig

# A passage sample in a link is for a person to recognise it, not a copy of it (chars).
SAMPLE_CHARS = 60
# Shingle hashes kept for exact verification, in shingles (8 bytes each: 8 MB): the
# representatives of big clusters are verified against again and again, a one-off text is not.
SHINGLE_CACHE = 1_000_000
# Texts of archived records kept after reading them from their object (characters).
ARCHIVED_TEXT_CACHE = 2_000_000

SCHEMA = """
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE docs (seq INTEGER PRIMARY KEY, rid TEXT UNIQUE NOT NULL, text TEXT NOT NULL,
                   sig BLOB, prints BLOB NOT NULL, chars INTEGER NOT NULL, published TEXT,
                   official INTEGER NOT NULL, path TEXT NOT NULL, repairs INTEGER NOT NULL,
                   folded TEXT);
CREATE TABLE bands (band_key INTEGER NOT NULL, rid TEXT NOT NULL);
CREATE INDEX bands_key ON bands (band_key);
CREATE TABLE prints (fp INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE fp_counts (fp INTEGER PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE parent (node TEXT PRIMARY KEY, up TEXT NOT NULL);
CREATE TABLE sizes (root TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE archived_nodes (node TEXT PRIMARY KEY);
CREATE TABLE near (here TEXT NOT NULL, there TEXT NOT NULL, similarity REAL NOT NULL);
CREATE INDEX near_here ON near (here, there);
CREATE TABLE shared (here TEXT NOT NULL, there TEXT NOT NULL, entry TEXT NOT NULL);
CREATE INDEX shared_here ON shared (here);
CREATE TABLE onto (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE canonical (rid TEXT PRIMARY KEY, canonical TEXT NOT NULL, size INTEGER NOT NULL);
CREATE TABLE common_fp (fp INTEGER PRIMARY KEY, passage TEXT NOT NULL);
CREATE TABLE common_of (rid TEXT PRIMARY KEY, passages TEXT NOT NULL);
CREATE TABLE passages (seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, entry TEXT NOT NULL);
"""


def _select_in(db: sqlite3.Connection, template: str, values: list[int]) -> Iterator[Any]:
    """Rows of `template` with its ``IN ({})`` filled, 500 values at a time."""
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        yield from db.execute(template.format(",".join("?" * len(chunk))), chunk)


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in spans)


class _LruByCost(OrderedDict[str, Any]):
    """An LRU map whose bound is a total cost (characters, shingles), not a count of entries."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.held, self.costs = limit, 0, dict[str, int]()

    def put(self, key: str, value: Any, cost: int) -> Any:
        if cost <= self.limit:
            self[key] = value
            self.costs[key] = cost
            self.held += cost
            while self.held > self.limit:
                old, _ = self.popitem(last=False)
                self.held -= self.costs.pop(old)
        return value

    def get_fresh(self, key: str) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        return None


class Linker:
    """Links for one run's new records: `add` each (in input order), then `finish`, then read
    each record's links back (`near_of`, `shared_of`, `canonical_of`, `common_of`)."""

    def __init__(self, index: Index, cfg: DedupConfig, path: Path) -> None:
        self.index, self.cfg, self.path = index, cfg, path
        path.unlink(missing_ok=True)
        self.db = sqlite3.connect(path)
        self.db.executescript(SCHEMA)
        self.shingles = _LruByCost(SHINGLE_CACHE)
        self.archived_texts = _LruByCost(ARCHIVED_TEXT_CACHE)
        self.seq = 0

    def close(self) -> None:
        self.db.close()
        self.path.unlink(missing_ok=True)

    # --- adding records --------------------------------------------------------------------

    def add(self, rid: str, text: str, candidate: Candidate, features: Features,
            folded: str | None = None) -> None:
        """A new record: verified against the clusters LSH proposes, joined to those it matches.
        `folded` is `dedup.fold(text)` when the caller has it (the worker folded it already)."""
        self.seq += 1
        sig = list(features.minhash)
        prints = sorted(features.fingerprints)
        self.db.execute("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (self.seq, rid, text, dedup.pack_signature(sig) if sig else None,
                         dedup.pack_signature(prints), candidate.chars, candidate.published,
                         int(candidate.official), candidate.path, candidate.repairs, folded))
        if sig:
            self._near(rid, sig)
        # Every holder is appended (disk, linear); indexed and counted once, by `finish` (a bulk
        # sort costs a fraction of keeping a B-tree ordered insert by insert).
        self.db.executemany("INSERT INTO prints VALUES (?, ?)", [(fp, self.seq) for fp in prints])

    def replace(self, rid: str, text: str, candidate: Candidate) -> None:
        """A better copy of a record already added (the keep policy changed its mind): its text
        and canonical-choice facts, for passages and the canonical. The folded text, hence every
        signature and fingerprint, is the same: exact duplicates share a key."""
        self.db.execute("UPDATE docs SET text = ?, chars = ?, published = ?, official = ?, path = ?, "
                        "repairs = ? WHERE rid = ?",
                        (text, candidate.chars, candidate.published, int(candidate.official),
                         candidate.path, candidate.repairs, rid))

    def _near(self, rid: str, sig: list[int]) -> None:
        cfg = self.cfg
        found: dict[str, None] = {}
        for key in dedup.band_keys(sig, cfg):
            members = [r for (r,) in self.db.execute("SELECT rid FROM bands WHERE band_key = ? LIMIT ?",
                                                     (key, cfg.lsh_bucket_cap))]
            found.update(dict.fromkeys(members))
            found.update(dict.fromkeys(self.index.band_members(key)))
            if len(members) < cfg.lsh_bucket_cap:
                self.db.execute("INSERT INTO bands VALUES (?, ?)", (key, rid))
        by_root: dict[str, list[tuple[float, str]]] = {}
        for other in found:
            estimate = dedup.similarity(sig, self._signature(other))
            if estimate >= cfg.min_estimated_similarity:
                by_root.setdefault(self._find(other), []).append((-estimate, other))
        mine = None
        for root, members in sorted(by_root.items()):
            matched = False
            for _, other in sorted(members)[:cfg.max_near_links]:
                if mine is None:
                    mine = self._shingles(rid)
                exact = dedup.hashed_jaccard(mine, self._shingles(other))
                if exact >= cfg.near_threshold:
                    self._add_near(rid, other, round(exact, 4))
                    matched = True
            if matched:
                self._union(rid, root)

    def _add_near(self, rid: str, other: str, similarity: float) -> None:
        self.db.execute("INSERT INTO near VALUES (?, ?, ?)", (rid, other, similarity))
        if self._is_new(other):
            self.db.execute("INSERT INTO near VALUES (?, ?, ?)", (other, rid, similarity))
        else:
            self.db.execute("INSERT OR IGNORE INTO archived_nodes VALUES (?)", (other,))
            self._onto({"record": other, "kind": "near_duplicate", "id": rid, "similarity": similarity})

    def _onto(self, entry: dict[str, Any]) -> None:
        self.db.execute("INSERT INTO onto (entry) VALUES (?)", (json.dumps(entry, ensure_ascii=False),))

    # --- union-find on disk (union by size, path halving) ------------------------------------

    def _find(self, node: str) -> str:
        while True:
            row = self.db.execute("SELECT up FROM parent WHERE node = ?", (node,)).fetchone()
            if row is None:
                return node
            up = row[0]
            grand = self.db.execute("SELECT up FROM parent WHERE node = ?", (up,)).fetchone()
            if grand is None:
                return str(up)
            self.db.execute("UPDATE parent SET up = ? WHERE node = ?", (grand[0], node))
            node = grand[0]

    def _size(self, root: str) -> int:
        row = self.db.execute("SELECT size FROM sizes WHERE root = ?", (root,)).fetchone()
        return row[0] if row else 1

    def _union(self, a: str, b: str) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra == rb:
            return
        sa, sb = self._size(ra), self._size(rb)
        if (sa, rb) < (sb, ra):        # the bigger cluster's root stays root (ties: the smaller id)
            ra, rb, sa, sb = rb, ra, sb, sa
        self.db.execute("INSERT OR REPLACE INTO parent VALUES (?, ?)", (rb, ra))
        self.db.execute("INSERT OR REPLACE INTO sizes VALUES (?, ?)", (ra, sa + sb))
        self.db.execute("DELETE FROM sizes WHERE root = ?", (rb,))

    # --- what the run knows of a record, new or archived -------------------------------------

    def _is_new(self, rid: str) -> bool:
        return self.db.execute("SELECT 1 FROM docs WHERE rid = ?", (rid,)).fetchone() is not None

    def _signature(self, rid: str) -> list[int]:
        row = self.db.execute("SELECT sig FROM docs WHERE rid = ?", (rid,)).fetchone()
        if row is not None:
            return dedup.unpack_signature(row[0]) if row[0] else []
        return self.index.signature(rid)

    def _text(self, rid: str) -> str:
        row = self.db.execute("SELECT text FROM docs WHERE rid = ?", (rid,)).fetchone()
        if row is not None:
            return str(row[0])
        text = self.archived_texts.get_fresh(rid)
        if text is None:
            text = self.index.record_text(rid)
            self.archived_texts.put(rid, text, len(text))
        return str(text)

    def _shingles(self, rid: str) -> Any:
        """`dedup.shingle_hashes` of a record, new (from the folded text its worker sent) or
        archived (folded here from the record's text)."""
        got = self.shingles.get_fresh(rid)
        if got is None:
            row = self.db.execute("SELECT folded FROM docs WHERE rid = ?", (rid,)).fetchone()
            folded = row[0] if row is not None and row[0] is not None else dedup.fold(self._text(rid))
            got = dedup.shingle_hashes(folded, self.cfg)
            self.shingles.put(rid, got, len(got))
        return got

    def _candidate(self, rid: str) -> Candidate | None:
        row = self.db.execute("SELECT chars, published, official, path, repairs FROM docs WHERE rid = ?",
                              (rid,)).fetchone()
        if row is None:
            return self.index.candidate(rid)
        return Candidate(rid, row[0], row[1], bool(row[2]), row[3], row[4])

    # --- after the last record ---------------------------------------------------------------

    def finish(self) -> None:
        """Choose each cluster's canonical; find shared passages; describe common passages."""
        self._canonicals()
        self.db.execute("CREATE INDEX prints_fp ON prints (fp)")
        self.db.execute("INSERT INTO fp_counts SELECT fp, COUNT(*) FROM prints GROUP BY fp")
        self._passages()
        self.db.commit()

    def _canonicals(self) -> None:
        """Each cluster's canonical, in two passes over its members (the longest text, then the
        best-ranked complete one): no cluster is ever held in memory whole."""
        self.db.execute("CREATE TEMP TABLE member (n INTEGER PRIMARY KEY, root TEXT, node TEXT NOT NULL)")
        self.db.execute("INSERT INTO member (node) SELECT node FROM parent UNION SELECT root FROM sizes")
        last = self.db.execute("SELECT COALESCE(MAX(n), 0) FROM member").fetchone()[0]
        for n in range(1, last + 1):
            (node,) = self.db.execute("SELECT node FROM member WHERE n = ?", (n,)).fetchone()
            self.db.execute("UPDATE member SET root = ? WHERE n = ?", (self._find(node), n))
        self.db.execute("CREATE INDEX temp.member_root ON member (root)")
        clusters = self.db.cursor()
        for root, size in clusters.execute("SELECT root, COUNT(*) FROM member GROUP BY root ORDER BY root"):
            def members(root: str = root) -> Iterator[Candidate]:
                for (node,) in self.db.execute("SELECT node FROM member WHERE root = ? ORDER BY node", (root,)):
                    c = self._candidate(node)
                    if c is not None:
                        yield c

            longest = max(c.chars for c in members())
            chosen = min((c for c in members() if dedup.is_complete(c.chars, longest, self.cfg)),
                         key=dedup.canonical_rank).id
            for c in members():
                if self._is_new(c.id):
                    self.db.execute("INSERT INTO canonical VALUES (?, ?, ?)", (c.id, chosen, size))
                else:
                    self._onto({"record": c.id, "kind": "canonical", "id": chosen})
        self.db.execute("DROP TABLE member")

    def _passages(self) -> None:
        cfg = self.cfg
        k = cfg.common_passage_docs
        for seq in range(1, self.seq + 1):
            rid, blob = self.db.execute("SELECT rid, prints FROM docs WHERE seq = ?", (seq,)).fetchone()
            prints = dedup.unpack_signature(blob)
            if not prints:
                continue
            counts = self.index.fingerprint_counts(prints)
            for fp, n in _select_in(self.db, "SELECT fp, n FROM fp_counts WHERE fp IN ({})", prints):
                counts[fp] = counts.get(fp, 0) + n
            common = {fp for fp in prints if counts[fp] > k}
            # Fingerprints this text shares with up to k documents: their holders are the pairs.
            rare = [fp for fp in prints if 1 < counts[fp] <= k]
            holders: dict[str, None] = {}
            for other, other_seq in _select_in(self.db, "SELECT d.rid, d.seq FROM prints p JOIN docs d "
                                                        "ON d.seq = p.seq WHERE p.fp IN ({})", rare):
                if other_seq < seq:          # each pair once, from its later member
                    holders[other] = None
            holders.update(dict.fromkeys(self.index.passage_holders_of(rare)))
            # Where the common passages lie in this text: a pair found through a rare
            # fingerprint does not link through the boilerplate it also shares.
            spans = dedup.passage_spans(self._text(rid), common, cfg) if common and holders else []
            for other in holders:
                if self.db.execute("SELECT 1 FROM near WHERE here = ? AND there = ?", (rid, other)).fetchone():
                    continue
                a, b = (rid, other) if not self._is_new(other) or rid < other else (other, rid)
                passages = [p for p in dedup.shared_passages(self._text(a), self._text(b), cfg)
                            if not _overlaps((p.a_start, p.a_end) if a == rid else (p.b_start, p.b_end), spans)]
                if passages:
                    self._add_shared(a, b, passages)
            if common:
                self._describe_common(rid, common, counts)

    def _add_shared(self, a: str, b: str, passages: list[dedup.SharedPassage]) -> None:
        chars = sum(p.chars for p in passages)
        sample = passages[0].text[:SAMPLE_CHARS]
        sides = ((a, b, [{"here": f"chars {p.a_start}-{p.a_end}", "there": f"chars {p.b_start}-{p.b_end}",
                          "chars": p.chars} for p in passages]),
                 (b, a, [{"here": f"chars {p.b_start}-{p.b_end}", "there": f"chars {p.a_start}-{p.a_end}",
                          "chars": p.chars} for p in passages]))
        for here, there, spans in sides:
            entry = {"id": there, "chars": chars, "passages": spans, "sample": sample}
            if self._is_new(here):
                self.db.execute("INSERT INTO shared VALUES (?, ?, ?)",
                                (here, there, json.dumps(entry, ensure_ascii=False)))
            else:
                self._onto({"record": here, "kind": "shared_passage", **entry})

    def _describe_common(self, rid: str, common: set[int], counts: dict[int, int]) -> None:
        """Name the common passages `rid` holds; cut the text of those not yet recorded out of
        `rid` where another holder shares it (one `shared_passages` call per new passage)."""
        known = dict(self.db.execute(
            f"SELECT fp, passage FROM common_fp WHERE fp IN ({','.join('?' * len(common))})", sorted(common)))
        fresh = common - set(known)
        text = self._text(rid) if fresh else ""
        spans = dedup.passage_spans(text, fresh, self.cfg) if fresh else []
        if spans and known:
            spans = self._join_named(text, spans, fresh, known)
            fresh = {fp for fp in fresh if fp not in known}
        if spans:
            other = self._other_holder(rid, min(fresh))
            passages = dedup.shared_passages(text, self._text(other), self.cfg) if other else []
            cut = [(p.a_start, p.a_end) for p in passages]
            for start, end in spans:
                # Where no passage of the other holder covers it, at least `min_shared_chars`
                # from its first fingerprint: a common passage is that long by definition.
                outer = next(((a, b) for a, b in cut if a <= start and end <= b),
                             (start, min(len(text), max(end, start + self.cfg.min_shared_chars))))
                inside = dedup.passage_fingerprints(text[outer[0]:outer[1]], self.cfg) & fresh
                inside |= dedup.passage_fingerprints(text[start:end], self.cfg) & fresh
                if not inside:
                    continue
                passage = text[outer[0]:outer[1]]
                pid = "cp-" + hashlib.sha256(dedup.fold(passage).encode()).hexdigest()[:16]
                holders = self._holders(min(inside), self.cfg.common_passage_sample)
                entry = {"id": pid, "documents": max(counts[fp] for fp in inside), "chars": len(passage),
                         "text": passage, "holders": holders}
                self.db.execute("INSERT OR IGNORE INTO passages (id, entry) VALUES (?, ?)",
                                (pid, json.dumps(entry, ensure_ascii=False)))
                self.db.executemany("INSERT OR IGNORE INTO common_fp VALUES (?, ?)", [(fp, pid) for fp in inside])
                known.update(dict.fromkeys(inside, pid))
        mine = sorted({known[fp] for fp in common if fp in known})
        self.db.execute("INSERT OR REPLACE INTO common_of VALUES (?, ?)", (rid, json.dumps(mine)))

    def _join_named(self, text: str, spans: list[tuple[int, int]], fresh: set[int],
                    known: dict[int, str]) -> list[tuple[int, int]]:
        """Fresh fingerprints that lie at most a winnowing window from a passage already named in
        this text are that passage's edge (a gram across its end, shared because most holders
        go on with the same character): they join it instead of naming a new passage. Without
        this the passage found depends on which grams the hash happens to pick at its ends.
        Returns the spans still unnamed."""
        reach = self.cfg.min_shared_chars - self.cfg.passage_anchor_chars + 1
        at = dedup.fingerprint_offsets(text, fresh | set(known), self.cfg)
        named = [(a, b, known[fp]) for fp, (a, b) in at.items() if fp in known]
        left = []
        for start, end in spans:
            near = Counter(pid for a, b, pid in named if a < end + reach and start - reach < b)
            if not near:
                left.append((start, end))
                continue
            pid = min(near, key=lambda p: (-near[p], p))
            joined = [fp for fp in fresh if fp in at and start <= at[fp][0] and at[fp][1] <= end]
            self.db.executemany("INSERT OR IGNORE INTO common_fp VALUES (?, ?)", [(fp, pid) for fp in joined])
            known.update(dict.fromkeys(joined, pid))
        return left

    def _other_holder(self, rid: str, fp: int) -> str | None:
        return next((h for h in self._holders(fp, 2) if h != rid), None)

    def _holders(self, fp: int, limit: int) -> list[str]:
        here = [r for (r,) in self.db.execute("SELECT d.rid FROM prints p JOIN docs d ON d.seq = p.seq "
                                              "WHERE p.fp = ? LIMIT ?", (fp, limit))]
        return here + self.index.passage_holders(fp, limit - len(here)) if len(here) < limit else here

    # --- reading the links back --------------------------------------------------------------

    def canonical_of(self, rid: str) -> tuple[str, int]:
        """The record `rid`'s cluster points to, and the cluster's size (1: no near duplicate)."""
        row = self.db.execute("SELECT canonical, size FROM canonical WHERE rid = ?", (rid,)).fetchone()
        return (row[0], row[1]) if row else (rid, 1)

    def near_of(self, rid: str) -> list[dict[str, Any]]:
        """The canonical (when another record) and the `max_near_links` nearest verified
        members, sorted by id."""
        canonical, _ = self.canonical_of(rid)
        rows = self.db.execute("SELECT there, similarity FROM near WHERE here = ? "
                               "ORDER BY similarity DESC, there LIMIT ?", (rid, self.cfg.max_near_links + 1))
        links = {there: similarity for there, similarity in rows if there != canonical}
        links = dict(sorted(links.items(), key=lambda kv: (-kv[1], kv[0]))[:self.cfg.max_near_links])
        out = [{"id": there, "similarity": similarity} for there, similarity in links.items()]
        if canonical != rid:
            row = self.db.execute("SELECT similarity FROM near WHERE here = ? AND there = ?",
                                  (rid, canonical)).fetchone()
            # Reached through the cluster, never verified against it: the MinHash estimate,
            # said so (an exact Jaccard would fold both texts again for every member).
            out.append({"id": canonical, "similarity": row[0]} if row else
                       {"id": canonical, "similarity": round(dedup.similarity(
                           self._signature(rid), self._signature(canonical)), 4), "estimated": True})
        return sorted(out, key=lambda link: str(link["id"]))

    def shared_of(self, rid: str) -> list[dict[str, Any]]:
        return [json.loads(e) for (e,) in
                self.db.execute("SELECT entry FROM shared WHERE here = ? ORDER BY there", (rid,))]

    def common_of(self, rid: str) -> list[str]:
        row = self.db.execute("SELECT passages FROM common_of WHERE rid = ?", (rid,)).fetchone()
        return list(json.loads(row[0])) if row else []

    def common_passages(self) -> Iterator[dict[str, Any]]:
        for (entry,) in self.db.execute("SELECT entry FROM passages ORDER BY seq"):
            yield json.loads(entry)

    def onto_archived(self) -> Iterator[dict[str, Any]]:
        for (entry,) in self.db.execute("SELECT entry FROM onto ORDER BY seq"):
            yield json.loads(entry)
