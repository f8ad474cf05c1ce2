"""The longest run of symbols a sequence shares verbatim with any sequence of a corpus: the
memorisation figure of the sequence modalities (frames of piano-rolls, tokens of text)."""

from __future__ import annotations

import numpy as np


class _SuffixAutomaton:
    """A suffix automaton over integer symbols (Blumer et al. 1985): every substring of the text
    is a path from state 0; built in O(len) (amortised, dict transitions)."""

    def __init__(self, text: list[int]):
        self.next: list[dict] = [{}]
        self.link = [-1]
        self.length = [0]
        last = 0
        for c in text:
            cur = len(self.length)
            self.next.append({})
            self.length.append(self.length[last] + 1)
            self.link.append(0)
            p = last
            while p != -1 and c not in self.next[p]:
                self.next[p][c] = cur
                p = self.link[p]
            if p != -1:
                q = self.next[p][c]
                if self.length[p] + 1 == self.length[q]:
                    self.link[cur] = q
                else:
                    clone = len(self.length)
                    self.next.append(dict(self.next[q]))
                    self.length.append(self.length[p] + 1)
                    self.link.append(self.link[q])
                    while p != -1 and self.next[p].get(c) == q:
                        self.next[p][c] = clone
                        p = self.link[p]
                    self.link[q] = self.link[cur] = clone
            last = cur

    def longest_match(self, query: list[int]) -> int:
        """The length of the longest substring of query that is a substring of the text."""
        nxt, link, length = self.next, self.link, self.length
        state = matched = best = 0
        for c in query:
            while state and c not in nxt[state]:
                state = link[state]
                matched = length[state]
            if c in nxt[state]:
                state = nxt[state][c]
                matched += 1
                best = max(best, matched)
            else:
                state = matched = 0
        return best


def longest_copied_runs(queries, corpus) -> np.ndarray:
    """For each query (a sequence of ints), the length of its longest contiguous run found
    verbatim in one sequence of `corpus`; a run never spans two corpus sequences. The corpus
    becomes one text with a distinct (negative) separator after each sequence and a suffix
    automaton over it answers each query in one pass: O(total length).

    >>> longest_copied_runs([[1, 2, 3, 9], [7, 7], [3, 4, 1]], [[0, 1, 2, 3], [4, 1]]).tolist()
    [3, 0, 2]
    """
    queries, corpus = list(queries), list(corpus)
    if not queries:
        return np.zeros(0, np.int64)
    text: list[int] = []
    for i, seq in enumerate(corpus):
        text.extend(int(c) for c in seq)
        text.append(-1 - i)  # separators: never in a query, so no match crosses them
    sam = _SuffixAutomaton(text)
    return np.array([sam.longest_match([int(c) for c in q]) for q in queries], np.int64)
