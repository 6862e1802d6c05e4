"""A regex alternation of literal words, factored by common prefixes.

A flat alternation of 80 words makes the regex engine try every word at every
position; factored as a trie ("ord(?:ine|ini|er...)"), most positions are
rejected on their first character. The words matched are the same, and at a
given position longer words are still tried first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def trie_alternation(words: Iterable[str]) -> str:
    """A non-capturing regex matching exactly ``words`` (literal strings)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Optional, and greedy: the longer words through this node are tried first.
        return f"(?:{body})?" if "" in node else body

    if not trie:
        raise ValueError("trie_alternation needs at least one word")
    return "(?:" + emit(trie) + ")"


def first_characters(words: Iterable[str]) -> str:
    """A character class of the words' first characters, e.g. ``[abc]``."""
    return "[" + "".join(sorted({re.escape(word[0]) for word in words if word})) + "]"
