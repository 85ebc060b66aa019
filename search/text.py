"""How query text is cut into words, the same for both backends.

Elasticsearch analyses each word itself (its French analyser); tantivy is given tokens analysed here
with the same steps (elision, lower case, ASCII folding, French stop words, French stemmer). The
tantivy analysers double as the judge of which words count: "de", "la", "les" are not words a
product must match.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from markupsafe import escape

if TYPE_CHECKING:
    import tantivy

log = logging.getLogger(__name__)

# Word characters, with hyphens and apostrophes inside a word ("3-6", "sèvre-et-maine", "l'affiné").
_WORD = re.compile(r"\w+(?:['’\-]\w+)*")
_ELISION = re.compile(r"^(?:l|m|t|qu|n|s|j|d|c|jusqu|quoiqu|lorsqu|puisqu)['’]", re.IGNORECASE)
MAX_WORDS = 12


# "à" typed without its accent: the French list has it only with one.
FOLDED_STOP_WORDS = ("a",)


@functools.cache
def french_analyzer() -> tantivy.TextAnalyzer:
    """Elision (through the simple tokenizer and the stop words), lower case, stop words, folding,
    stemming."""
    # Stop words are dropped before folding ("à", "où" would become "a", "ou") and after it (the list
    # spells some without accents: "ou" for "où" typed without one).
    import tantivy  # here: a worker loads it with the first query text it analyses

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("french"))
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stopword("french"))
        .filter(tantivy.Filter.custom_stopword(list(FOLDED_STOP_WORDS)))
        .filter(tantivy.Filter.stemmer("french"))
        .build()
    )


@functools.cache
def folded_analyzer() -> tantivy.TextAnalyzer:
    """Lower case and folded, not stemmed: for prefixes (autocomplete) and spelling."""
    import tantivy

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
# Words that say what a purchase is for or whom it is for, not what it is ("fleurs anniversaire", "idée
# cadeau maman", "jouet bébé", "plante d'intérieur"), or the size wanted ("baskets taille 38"): one
# that no product has is left out of the query, as a number nothing has is, rather than leaving no
# result (folded, as ``is_occasion`` compares them).
OCCASION_WORDS = frozenset(
    {
        *("cadeau", "cadeaux", "idee", "idees", "offrir", "surprise"),
        *("anniversaire", "anniversaires", "noel", "fete", "fetes", "saint-valentin", "valentin"),
        *("remerciement", "remerciements", "merci", "retraite", "cremaillere"),
        *("maman", "papa", "mamie", "mamy", "papi", "papy", "parrain", "marraine", "maitresse", "nounou"),
        *("mere", "meres", "pere", "peres", "grand-mere", "grand-pere", "grands-parents", "bebe", "bebes"),
        *("copine", "copain", "amie", "ami", "collegue", "collegues", "belle-mere", "beau-pere"),
        *("taille", "tailles", "pointure", "interieur", "exterieur"),
    }
)
# What shoppers call the same thing: each key (folded, one or two words) may be matched by any of
# its alternatives. Kept short and domain-bound; both backends read it.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "roman policier": ("polar", "policier"),
    "policier": ("polar", "policier"),
    "polar": ("polar", "policier"),
    "bande dessinee": ("bande dessinee", "bd"),
    "bd": ("bd", "bande dessinee"),
    "tee-shirt": ("t-shirt", "tee-shirt"),
    "tshirt": ("t-shirt", "tee-shirt"),
    "teeshirt": ("t-shirt", "tee-shirt"),
    "bicyclette": ("velo", "bicyclette"),
    # A kind of thing the catalogue names by its trade: "viande" at the butcher's, "gâteau" at the
    # pastry shop.
    "viande": ("viande", "boucherie"),
    "viandes": ("viande", "boucherie"),
    "gateau": ("gateau", "patisserie"),
    "gateaux": ("gateau", "patisserie"),
    "alcool": ("alcool", "spiritueux"),
    "alcools": ("alcool", "spiritueux"),
    "bonbon": ("bonbon", "confiserie"),
    "bonbons": ("bonbon", "confiserie"),
    "tisane": ("tisane", "infusion"),
    "tisanes": ("tisane", "infusion"),
    # The trade for its shop's goods ("boucher" is no typo of "boucles").
    "boucher": ("boucherie",),
    "charcutier": ("charcuterie",),
    "caviste": ("caviste", "vin"),
    "patissier": ("patisserie", "patissier"),
    "bijoutier": ("bijouterie", "bijou"),
    "torrefacteur": ("torrefacteur", "cafe"),
    "quincaillier": ("quincaillerie",),
}


def _fold_word(word: str) -> str:
    return " ".join(folded(word))


# English words and phrases over a French catalogue ("crime novels" -> "roman policier"): see the file.
LEXICON_FILE = Path(__file__).with_name("lexicon_en_fr.txt")
LEXICON_PHRASE_WORDS = 3
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)


def _read_lexicon(path: Path, into: dict[str, tuple[str, ...]]) -> None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        english, separator, french = entry.partition("=")
        key = " ".join(folded(english))
        alternatives = tuple(word.strip() for word in french.split("|") if word.strip())
        if not separator or not key or not alternatives or len(key.split()) > LEXICON_PHRASE_WORDS:
            raise ValueError(f"{path}:{number}: expected 'english = french | french', got {entry!r}")
        # "-": an English word no product carries ("for", "with").
        into[key] = () if alternatives == ("-",) else alternatives


@functools.cache
def _lexicon(extra: str | None) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    _read_lexicon(LEXICON_FILE, table)
    if extra:
        try:
            _read_lexicon(Path(extra), table)
        except (OSError, ValueError) as error:
            # The town's own entries are an extension: searching goes on with the built-in ones.
            log.error("search lexicon not read: %s", error)
    return table


def lexicon() -> dict[str, tuple[str, ...]]:
    """English (folded, up to three words) -> its French equivalents, read once per file path; the
    town's ``SEARCH_LEXICON_FILE`` adds entries and overrides the built-in ones."""
    extra = current_app.config.get("SEARCH_LEXICON_FILE") if has_app_context() else None
    return _lexicon(extra or None)


def _english_forms(word: str) -> list[str]:
    """A typed word folded, then its English singulars ("strawberries" -> "strawberry")."""
    base = _fold_word(_POSSESSIVE.sub("", word))
    forms = [base]
    if base.endswith("ies"):
        forms.append(base[:-3] + "y")
    if base.endswith("es"):
        forms.append(base[:-2])
    if base.endswith("s"):
        forms.append(base[:-1])
    return forms


# One unit of a query after translation: a typed word, or what one lexicon entry put into French
# (several French words in French order, or one group of alternatives).
_Unit = tuple[list[str | tuple[str, ...]], bool]


def _translated(typed: list[str]) -> list[_Unit]:
    """The typed words with English words and phrases put into French, the longest phrase first: a
    French word replaces its English one (so the English word's typo neighbours never match, "soap"
    finding "soupe"), several French words come as one group of alternatives. Each unit says whether
    it came from the lexicon."""
    table = lexicon()
    result: list[_Unit] = []
    index = 0
    while index < len(typed):
        for size in range(min(LEXICON_PHRASE_WORDS, len(typed) - index), 0, -1):
            french = _lookup(table, typed[index : index + size])
            if french is not None:
                break
        else:
            result.append(([typed[index]], False))
            index += 1
            continue
        if len(french) == 1:
            result.append((list(words(french[0])), True))
        elif french:
            result.append(([french], True))
        index += size
    return result


def _lookup(table: dict[str, tuple[str, ...]], phrase: list[str]) -> tuple[str, ...] | None:
    candidates = [""]
    for word in phrase:
        candidates = [f"{start} {form}".strip() for start in candidates for form in _english_forms(word)]
    for candidate in candidates:
        if candidate in table:
            return table[candidate]
    return None


# French adjectives that come before the noun they describe ("petit pain", "vieux rhum"): never the
# head of a query when a word follows them.
_BEFORE_NOUN = frozenset(
    [
        "petit",
        "petite",
        "petits",
        "petites",
        "grand",
        "grande",
        "grands",
        "grandes",
        "gros",
        "grosse",
        "beau",
        "belle",
        "beaux",
        "bel",
        "bon",
        "bonne",
        "bons",
        "bonnes",
        "vieux",
        "vieille",
        "vieil",
        "jeune",
        "joli",
        "jolie",
        "jolis",
        "jolies",
        "nouveau",
        "nouvelle",
        "nouveaux",
        "mini",
        "vrai",
        "vraie",
    ]
)


@dataclass(frozen=True)
class Analysed:
    """A query's groups (one per meaningful word or two-word phrase, each matched by any of its
    alternatives) and which of them is its head noun: the word a product must have when another may
    be left out ("tomates" in "tomates bio", "bague" in "gold ring")."""

    groups: list[tuple[str, ...]]
    head: int = 0


def analyse(text: str) -> Analysed:
    """What a query asks for. "roman policier bd" -> [("polar", "policier"), ("bd", ...)]. English
    words are first put into French, so both backends match them as French words.

    The head is the first noun in French order (French puts the noun first: "fromage de chèvre",
    "pull laine"), past a leading adjective ("petit pain"); when several English words were each put
    into French ("organic honey"), English order puts the noun last."""
    units = _translated([word for word in words(text) if _fold_word(word) not in QUERY_NOISE])
    typed: list[tuple[str | tuple[str, ...], int]] = [
        (item, number) for number, (items, _english) in enumerate(units) for item in items
    ]
    found: list[tuple[str, ...]] = []
    unit_of: list[int] = []
    index = 0
    while index < len(typed):
        item, unit = typed[index]
        if isinstance(item, tuple):
            alternatives = (alt for word in item for alt in SYNONYMS.get(_fold_word(word), (word,)))
            found.append(tuple(dict.fromkeys(alternatives)))
            unit_of.append(unit)
            index += 1
            continue
        following = typed[index + 1][0] if index + 1 < len(typed) else None
        if isinstance(following, str):
            pair = f"{_fold_word(item)} {_fold_word(following)}"
            if pair in SYNONYMS:
                found.append(SYNONYMS[pair])
                unit_of.append(unit)
                index += 2
                continue
        found.append(SYNONYMS.get(_fold_word(item), (item,)))
        unit_of.append(unit)
        index += 1
    return Analysed(found, _head(found, unit_of, [english for _items, english in units]))


def _head(found: list[tuple[str, ...]], unit_of: list[int], english: list[bool]) -> int:
    if len(found) <= 1:
        return 0
    translated = [unit for unit, is_english in enumerate(english) if is_english]
    if len(translated) >= 2:
        return unit_of.index(translated[-1])
    for position, alternatives in enumerate(found[:-1]):
        word = _fold_word(alternatives[0])
        if word not in _BEFORE_NOUN and not is_number(alternatives[0]):
            return position
    return len(found) - 1


_NUMBER = re.compile(r"[\d\-.,/]+[xX]?")


def is_number(word: str) -> bool:
    """A number, a quantity or a mistyped code ("2", "3-6", "2-07-061275-1"): no product may need it."""
    return bool(_NUMBER.fullmatch(word))


# What a shopper types about the price, the delivery or the stock rather than the thing. A ceiling in
# euros ("moins de 20 €", "sous 15 euros", "jusqu'à 30 €", "50 € max", "under 20 €"):
_AMOUNT = r"(\d{1,7}(?:[.,]\d{1,2})?)\s*(?:€|euros?\b|eur\b|e\b)"
_CEILING = re.compile(
    r"(?:\b(?:a\s+)?(?:moins\s+de|sous|max(?:imum)?|jusqu\s*['’]?\s*a|inferieurs?\s+a)|<|<="
    r"|\b(?:under|below|less\s+than|up\s+to))\s*"
    + _AMOUNT
    + r"|\b"
    + _AMOUNT
    + r"\s*(?:max(?:imum)?\b|maxi\b)",
    re.IGNORECASE,
)
# ... and the words that ask for a kind of result, each with what it asks (folded text, whole words).
_ASKING: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE), asks)
    for pattern, asks in (
        (
            r"(?:pas|moins)\s+cher(?:e|s|es)?|bon\s+marche|(?:a\s+)?petits?\s+prix"
            r"|prix\s+(?:bas|doux|mini)|cheap(?:er|est)?|inexpensive|affordable",
            "cheap",
        ),
        (r"click\s*(?:and|&|et|n)?\s*collect|retrait\s+(?:en\s+)?(?:boutique|magasin)", "click_collect"),
        (r"(?:en\s+)?points?\s+relais", "relay"),
        (r"envois?\s+a\s+domicile|expedition|shipping", "home_delivery"),
        (
            r"(?:livraison|livre|livree|livres|livrees)\s+a\s+domicile|(?:avec\s+|en\s+)?livraison"
            r"|(?:home\s+)?delivery",
            "delivery",
        ),
        (r"en\s+stock|disponibles?|dispo|in\s+stock|available", "in_stock"),
        (r"(?:les\s+)?(?:dernieres\s+)?nouveautes?|new\s+arrivals", "newest"),
    )
)


@dataclass(frozen=True)
class ShoppingWords:
    """A query's text without its words about the price, the delivery or the stock, and what they
    asked: a ceiling in cents, and the rest by name ("cheap", a delivery method, "delivery" for one
    not named: the town's shops deliver themselves or send, "in_stock", "newest")."""

    text: str
    max_cents: int | None = None
    asks: tuple[str, ...] = ()


def shopping_words(typed: str) -> ShoppingWords:
    """``typed`` read for what it says about buying rather than about the thing: "vin rouge moins de
    20 €" is "vin rouge" up to 20 euros, "fromage pas cher" is "fromage", cheapest first, "pain click
    and collect" is "pain" to collect. A number without a currency is not a price ("jeu 8 ans", "vis
    40 mm"); "livre" alone is a book, "livré à domicile" a delivery."""
    plain = "".join(map(_unaccented, typed))  # one character for one: the spans are the typed text's
    ceilings: list[int] = []
    spans: list[tuple[int, int]] = []
    for found in _CEILING.finditer(plain):
        amount = found.group(1) or found.group(2)
        euros, _, cents = amount.replace(",", ".").partition(".")
        ceilings.append(int(euros) * 100 + int(cents.ljust(2, "0")))
        spans.append(found.span())
    asks: list[str] = []
    for pattern, asked in _ASKING:
        for found in pattern.finditer(plain):
            if any(begin < found.end() and found.start() < end for begin, end in spans):
                continue  # part of a longer phrase already read ("livraison" in "livraison à domicile")
            spans.append(found.span())
            if asked not in asks:
                asks.append(asked)
    if not spans:
        return ShoppingWords(typed)
    kept, start = [], 0
    for begin, end in sorted(spans):
        kept.append(typed[start:begin])
        start = max(start, end)
    kept.append(typed[start:])
    return ShoppingWords(" ".join("".join(kept).split()), min(ceilings) if ceilings else None, tuple(asks))


def _unaccented(char: str) -> str:
    """``char`` without its accent ("à" -> "a"); itself when it is not one letter and its accents."""
    base = "".join(part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part))
    return base if len(base) == 1 else char


def is_occasion(word: str) -> bool:
    """A word of ``OCCASION_WORDS``: what a purchase is for, which no product may need."""
    return _fold_word(word) in OCCASION_WORDS


def groups(text: str) -> list[tuple[str, ...]]:
    """The groups of ``analyse``: one per meaningful word or phrase, each a tuple of alternatives."""
    return analyse(text).groups


def title_head(title: str) -> str:
    """The first meaningful word of a title: what the product is ("Robe portefeuille" is a robe)."""
    meaningful = [word for word in words(title) if _fold_word(word) not in _BEFORE_NOUN]
    return meaningful[0] if meaningful else ""


def singular_forms(text: str) -> list[str]:
    """The folded words of a text without a plural "s" or "x": the exact form a stemmer may merge
    with another word ("fraises" and "frais" share the stem "frais", not this form)."""
    return [_singular(token) for token in folded(text)]


def _singular(token: str) -> str:
    return token[:-1] if len(token) > 3 and token[-1] in "sx" else token


def stems(word: str) -> list[str]:
    return french_analyzer().analyze(word)


def folded(text: str) -> list[str]:
    return folded_analyzer().analyze(text)


# Typos are a fallback for a word nothing has as typed: its first letter must be right, and it may
# differ from a word of the catalogue by one edit, two from ``TYPO_TWO_EDITS_FROM`` characters on.
TYPO_PREFIX = 1
TYPO_TWO_EDITS_FROM = 8
# Descriptions are only kept stemmed: there a typo is looked for stem to stem, from stems of five
# letters on (a shorter one, "bier" for "bière", is one edit from too many words: "bien").
TYPO_STEM_FROM = 5
# Elasticsearch's spelling of the same rules (no edit up to 3 characters, as below).
TYPO_FUZZINESS = f"AUTO:4,{TYPO_TWO_EDITS_FROM}"
TYPO_STEM_FUZZINESS = f"AUTO:{TYPO_STEM_FROM},{TYPO_TWO_EDITS_FROM}"


def fuzziness(token: str) -> int:
    """Edits a typo may make: none up to 3 characters (or in a number: "ail" is not "air"), one below
    8, two beyond ("bananes" is not "bagages", "chausures" is "chaussures")."""
    if len(token) <= 3 or token.isdigit():
        return 0
    return 1 if len(token) < TYPO_TWO_EDITS_FROM else 2


def typo_neighbours(token: str, candidates: Iterable[str]) -> list[str]:
    """The candidates a folded ``token`` may be a typo of: same first letter, few enough edits."""
    distance = fuzziness(token)
    if not distance:
        return []
    prefix = token[:TYPO_PREFIX]
    return [
        candidate
        for candidate in candidates
        if candidate != token
        and candidate.startswith(prefix)
        and edit_distance(token, candidate, distance + 1) <= distance
    ]


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
    """The word is one of the query's, or (first letter kept) a typo of one."""
    if token in query_tokens:
        return True
    return any(
        token[:TYPO_PREFIX] == wanted[:TYPO_PREFIX] and edit_distance(token, wanted) <= fuzziness(wanted)
        for wanted in query_tokens
    )


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, word) of every word of a text, for highlighting."""
    for match in _WORD.finditer(text):
        yield match.start(), match.end(), match.group()


def highlight(text: str, query_words: list[str]) -> str:
    """``text`` HTML-escaped, each word matching the query (stem, typo allowed) inside <mark>. Worked out
    once per process for the same title and words: a results page highlights two dozen titles, and the
    same search comes back."""
    return _highlight(text, tuple(query_words))


@functools.lru_cache(maxsize=4096)
def _highlight(text: str, query_words: tuple[str, ...]) -> str:
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
