"""Build cleaners/data/encoding_hanzi_freq.tsv from jieba 0.42.1's dict.txt + OpenCC.

Usage: python scripts/make_encoding_freq.py PATH/TO/jieba/dict.txt cleaners/data/encoding_hanzi_freq.tsv
(jieba is MIT-licensed; only character frequencies derived from its dictionary ship here.)
"""
import math
import sys
from collections import Counter

import opencc

dict_path, out_path = sys.argv[1], sys.argv[2]
convs = [opencc.OpenCC(c) for c in ("s2t.json", "s2tw.json", "s2hk.json")]
simp = Counter()
words = []
for line in open(dict_path, encoding="utf-8"):
    w, f, *_ = line.split()
    f = int(f)
    words.append((w, f))
    for ch in w:
        if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch >= "\U00020000":
            simp[ch] += f
trad = Counter()
for conv in convs:
    tmp = Counter()
    text = "\n".join(w for w, _ in words)
    conv_words = conv.convert(text).split("\n")
    assert len(conv_words) == len(words)
    for (_word, f), tw in zip(words, conv_words, strict=True):
        for ch in tw:
            if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch >= "\U00020000":
                tmp[ch] += f
    for ch, n in tmp.items():
        trad[ch] = max(trad[ch], n)
merged = Counter()
for ch in set(simp) | set(trad):
    merged[ch] = max(simp[ch], trad[ch])
total_s = sum(simp.values())
print("chars", len(simp), len(trad), len(merged), "total", total_s, file=sys.stderr)
MIN_COUNT = 3  # below this a count is noise
rows = sorted(((n, ch) for ch, n in merged.items() if n >= MIN_COUNT), reverse=True)
with open(out_path, "w", encoding="utf-8") as out:
    out.write("# Chinese character log10 frequencies for encoding.detect (issue #3): "
              "how plausible a decoding is as Chinese.\n")
    out.write("# Source: word frequencies of jieba 0.42.1 dict.txt "
              "(MIT licence, https://github.com/fxsjy/jieba),\n")
    out.write("# summed per character (count = sum of word_freq * occurrences); "
              "Traditional forms by converting every word\n")
    out.write("# with OpenCC 1.4.2 s2t, s2tw and s2hk and keeping each character's largest count, "
              "so both scripts score alike.\n")
    out.write(f"# Columns: character, log10(count / total Simplified count {total_s}). "
              f"Characters counted fewer than {MIN_COUNT} times are left out.\n")
    for n, ch in rows:
        out.write(f"{ch}\t{math.log10(n / total_s):.2f}\n")
print(len(rows), file=sys.stderr)
