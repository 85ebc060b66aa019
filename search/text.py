"""How query text is cut into words, the same for both backends.

Elasticsearch analyses each word itself (its French analyser); tantivy is given tokens analysed here
with the same steps (elision, lower case, ASCII folding, French stop words, French stemmer). The
tantivy analysers double as the judge of which words count: "de", "la", "les" are not words a
product must match.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import tantivy
from markupsafe import escape

# Word characters, with hyphens and apostrophes inside a word ("3-6", "sèvre-et-maine", "l'affiné").
_WORD = re.compile(r"\w+(?:['’\-]\w+)*")
_ELISION = re.compile(r"^(?:l|m|t|qu|n|s|j|d|c|jusqu|quoiqu|lorsqu|puisqu)['’]", re.IGNORECASE)
MAX_WORDS = 12


@functools.cache
def french_analyzer() -> tantivy.TextAnalyzer:
    """Elision (through the simple tokenizer and the stop words), lower case, folding, stemming."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stopword("french"))
        .filter(tantivy.Filter.stemmer("french"))
        .build()
    )


@functools.cache
def folded_analyzer() -> tantivy.TextAnalyzer:
    """Lower case and folded, not stemmed: for prefixes (autocomplete) and spelling."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def words(text: str) -> list[str]:
    """The words of a query that mean something, as typed (at most ``MAX_WORDS``)."""
    found = []
    for match in _WORD.finditer(text):
        word = _ELISION.sub("", match.group())
        if word and french_analyzer().analyze(word):
            found.append(word)
    return found[:MAX_WORDS]


# Words a shopper adds that no product carries ("produits locaux", "des articles de pêche").
QUERY_NOISE = frozenset({"produit", "produits", "article", "articles"})
# What shoppers call the same thing: each key (folded, one or two words) may be matched by any of
# its alternatives. Kept short and domain-bound; both backends read it.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "roman policier": ("polar", "policier"),
    "policier": ("polar", "policier"),
    "polar": ("polar", "policier"),
    "bande dessinee": ("bande dessinee", "bd"),
    "bd": ("bd", "bande dessinee"),
    "tee-shirt": ("t-shirt", "tee-shirt"),
    "tee shirt": ("t-shirt", "tee-shirt"),
    "bicyclette": ("velo", "bicyclette"),
}


def _fold_word(word: str) -> str:
    return " ".join(folded(word))


def groups(text: str) -> list[tuple[str, ...]]:
    """What a query asks for: one group per meaningful word (or two-word phrase with synonyms), each
    matched by any of its alternatives. "roman policier bd" -> [("polar", "policier"), ("bd", ...)]."""
    typed = [word for word in words(text) if _fold_word(word) not in QUERY_NOISE]
    found: list[tuple[str, ...]] = []
    index = 0
    while index < len(typed):
        pair = " ".join(_fold_word(word) for word in typed[index : index + 2])
        if index + 1 < len(typed) and pair in SYNONYMS:
            found.append(SYNONYMS[pair])
            index += 2
            continue
        found.append(SYNONYMS.get(_fold_word(typed[index]), (typed[index],)))
        index += 1
    return found


def stems(word: str) -> list[str]:
    return french_analyzer().analyze(word)


def folded(text: str) -> list[str]:
    return folded_analyzer().analyze(text)


def fuzziness(token: str) -> int:
    """Elasticsearch's AUTO: exact up to 2 characters, one edit up to 5, two beyond."""
    if len(token) <= 2 or token.isdigit():
        return 0
    return 1 if len(token) <= 5 else 2


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance with adjacent transpositions costing one (as fuzzy queries count)."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return min(previous[-1], limit)


def matches(token: str, query_tokens: list[str]) -> bool:
    return any(edit_distance(token, wanted) <= fuzziness(wanted) for wanted in query_tokens)


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, word) of every word of a text, for highlighting."""
    for match in _WORD.finditer(text):
        yield match.start(), match.end(), match.group()


def highlight(text: str, query_words: list[str]) -> str:
    """``text`` HTML-escaped, each word matching the query (stem, typo allowed) inside <mark>."""
    wanted = [token for word in query_words for token in stems(word)]
    if not wanted:
        return str(escape(text))
    parts: list[str] = []
    position = 0
    for start, end, word in spans(text):
        if any(matches(token, wanted) for token in stems(word)):
            parts.append(str(escape(text[position:start])))
            parts.append(f"<mark>{escape(text[start:end])}</mark>")
            position = end
    parts.append(str(escape(text[position:])))
    return "".join(parts)
