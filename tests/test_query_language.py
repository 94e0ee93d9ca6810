"""The query language beyond the basics: field scopes, site: and lang:, proximity phrases,
typographic quotes and dashes, NEAR over groups; and the single-automaton engine.

Table-driven like test_watchlists.py: one row per behaviour, named by its id.
"""

from __future__ import annotations

import re
import unicodedata

import pytest

from watchlists import (
    Document,
    Matcher,
    QuerySyntaxError,
    Watchlist,
    evaluate,
    normalize,
    parse_query,
)
from watchlists.query import Meta, Near, Scope, Term

GROUPS = {
    "aliyev": ["Aliyev", "Aliev", "Алиев*", "Əliyev"],
    "kremlin": ["Putin", "Kremlin", "Путин*", "Кремл*"],
    "baku": ["Baku", "Bakı", "Баку"],
}


def holds(query: str, text: str = "", title: str = "", site: str = "", lang: str = "") -> bool:
    doc = Document(title=title, text=text, site=site, lang=lang)
    result, _ = evaluate(parse_query(query, GROUPS), doc)
    return result


# (query, title, text, site, lang, expected, id)
CASES = [
    # false-positive guards: whole words only, whatever the script
    ("ISIS", "", "A political crisis deepened.", "", "", False, "isis-in-crisis"),
    ("ISIS", "", "Crisis talks; ISIS claimed it.", "", "", True, "isis-beside-crisis"),
    ("Baku", "", "Bakunin was an anarchist.", "", "", False, "baku-in-bakunin"),
    ("Iran", "", "Iranian officials said.", "", "", False, "iran-in-iranian"),
    ("Iran*", "", "Iranian officials said.", "", "", True, "iran-prefix-in-iranian"),
    ("Iran*", "", "Tirana officials said.", "", "", False, "prefix-only-at-word-start"),
    ("Алиев", "", "Встреча с Алиевым.", "", "", False, "cyrillic-whole-word"),
    ("Алиев*", "", "Встреча с Алиевым.", "", "", True, "cyrillic-inflection-instrumental"),
    ("Алиев*", "", "Путин позвонил Алиеву.", "", "", True, "cyrillic-inflection-dative"),
    ("Алиев*", "", "Жена Алиева приехала.", "", "", True, "cyrillic-inflection-genitive"),
    ("Баку", "", "Бакунин писал.", "", "", False, "cyrillic-baku-in-bakunin"),
    ("Երևան", "", "Նա Երևանում էր։", "", "", False, "armenian-whole-word"),
    ("Երևան*", "", "Նա Երևանում էր։", "", "", True, "armenian-prefix"),
    ("Երևան", "", "Նա Երևան, Բաքու։", "", "", True, "armenian-punctuation-boundary"),
    ("Yerevan", "", "YEREVAN—The talks", "", "", True, "em-dash-boundary"),
    ("Əliyev", "", "ƏLIYEV dedi", "", "", True, "azerbaijani-schwa-upper"),
    ("Azərbaycan*", "", "Azerbaycanin xarici isleri", "", "", True, "azerbaijani-folded-prefix"),
    ("Erdoğan", "", "ERDOGAN said", "", "", True, "turkish-breve-folded"),
    ("Straße", "", "Die Strasse war leer.", "", "", True, "eszett-folds-to-ss"),
    ("Azerbaijan", "", "Azer\u00adbaijan", "", "", False, "soft-hyphen-splits"),
    ("8243", "", "flight J2-8243 crashed", "", "", True, "digits-after-hyphen"),
    ('"J2 8243"', "", "flight J2-8243 crashed", "", "", True, "hyphen-is-a-space-in-phrase"),
    # field scopes
    ("title:Baku", "Talks in Baku", "Nothing.", "", "", True, "title-scope-in-title"),
    ("title:Baku", "Talks", "Talks in Baku.", "", "", False, "title-scope-not-in-text"),
    ("text:Baku", "Talks in Baku", "Nothing.", "", "", False, "text-scope-not-in-title"),
    ("text:Baku", "Talks", "Talks in Baku.", "", "", True, "text-scope-in-text"),
    ('title:"Sputnik Azerbaijan"', "Sputnik Azerbaijan raided", "", "", "", True, "title-phrase"),
    ("title:(Baku OR Moscow)", "Moscow speaks", "Baku", "", "", True, "title-group-or"),
    ("title:(Baku AND Moscow)", "Moscow speaks", "Baku", "", "", False, "title-and-needs-both"),
    ("title:@baku", "Bakı danışır", "", "", "", True, "title-named-group"),
    ("title:Baku text:Moscow", "Baku", "Moscow", "", "", True, "two-scopes"),
    ("title:Baku -text:Baku", "Baku", "Baku", "", "", False, "negated-scope"),
    ("title:Baku -text:Baku", "Baku", "Moscow", "", "", True, "negated-scope-absent"),
    # site: and lang:
    ("site:themoscowtimes.com", "", "x", "https://www.themoscowtimes.com/a", "", True, "site-url"),
    ("site:themoscowtimes.com", "", "x", "themoscowtimes.com", "", True, "site-domain"),
    ("site:example.org", "", "x", "news.example.org", "", True, "site-subdomain"),
    ("site:example.org", "", "x", "badexample.org", "", False, "site-not-suffix-of-word"),
    ("site:example.org", "", "x", "example.org.evil.net", "", False, "site-not-prefix"),
    ("site:example.org", "", "x", "", "", False, "site-unknown"),
    ("Baku -site:sputnik.az", "", "Baku", "https://sputnik.az/x", "", False, "minus-site"),
    ("Baku -site:sputnik.az", "", "Baku", "https://apa.az/x", "", True, "minus-site-other"),
    ("lang:ru", "", "x", "", "ru", True, "lang-exact"),
    ("lang:ru", "", "x", "", "ru-RU", True, "lang-region"),
    ("lang:ru", "", "x", "", "ru_RU", True, "lang-underscore-region"),
    ("lang:ru", "", "x", "", "rue", False, "lang-not-prefix"),
    ("lang:az OR lang:ru", "", "x", "", "az", True, "lang-or"),
    ("Баку lang:ru", "", "Баку", "", "en", False, "lang-and-term"),
    # proximity phrase "a b"~n is a NEAR/n b
    ('"Aliyev Putin"~3', "", "Aliyev then met with Putin", "", "", True, "tilde-within"),
    ('"Aliyev Putin"~2', "", "Aliyev then met with Putin", "", "", False, "tilde-too-far"),
    ('"Aliyev Putin"~3', "", "Putin then met with Aliyev", "", "", True, "tilde-any-order"),
    ('"Алиев* Путин*"~2', "", "Алиеву звонил Путин", "", "", True, "tilde-prefix-words"),
    ('"a b c"~1', "", "a x b x c", "", "", True, "tilde-three-words"),
    ('"a b c"~1', "", "a x b x x c", "", "", False, "tilde-three-words-far"),
    ('"Baku Moscow"~5', "Baku", "Moscow", "", "", False, "tilde-not-across-fields"),
    # NEAR with groups and sub-queries as operands
    ("@aliyev NEAR/5 @kremlin", "", "Aliev said the Kremlin lied", "", "", True, "near-groups"),
    ("@aliyev NEAR/5 @kremlin", "", "Алиева обвинил Кремль", "", "", True, "near-groups-cyr"),
    (
        "@aliyev NEAR/1 @kremlin",
        "",
        "Aliev said that the Kremlin",
        "",
        "",
        False,
        "near-groups-far",
    ),
    (
        "(Aliyev OR Aliev) NEAR/10 (Putin OR Kremlin)",
        "",
        "Aliev said the Kremlin lied",
        "",
        "",
        True,
        "near-or-lists",
    ),
    (
        "(Baku NEAR/2 Moscow) NEAR/3 talks",
        "",
        "Baku and Moscow held talks",
        "",
        "",
        True,
        "near-nested",
    ),
    ("title:(Baku NEAR/2 Moscow)", "Baku and Moscow", "", "", "", True, "near-in-title-scope"),
    ("title:(Baku NEAR/2 Moscow)", "", "Baku and Moscow", "", "", False, "near-scope-wrong-field"),
    ("Aliyev ONEAR/3 Putin", "", "Putin met Aliyev", "", "", False, "onear-order"),
    ("Aliyev ONEAR/3 Putin", "", "Aliyev met Putin", "", "", True, "onear-in-order"),
    # typographic quotes and dashes in queries
    ("“Sputnik Azerbaijan”", "", "Sputnik and Azerbaijan", "", "", False, "curly-quotes-phrase"),
    ("«Спутник Азербайджан»", "", "офис Спутник Азербайджан", "", "", True, "guillemets-phrase"),
    ("Baku –Moscow", "", "Baku and Moscow", "", "", False, "en-dash-is-minus"),
    ("Baku —Moscow", "", "Baku alone", "", "", True, "em-dash-is-minus"),
    ("“Aliyev Putin”~3", "", "Aliyev met Putin", "", "", True, "curly-tilde"),
]


@pytest.mark.parametrize(
    ("query", "title", "text", "site", "lang", "expected"),
    [case[:6] for case in CASES],
    ids=[case[6] for case in CASES],
)
def test_query_language(
    query: str, title: str, text: str, site: str, lang: str, expected: bool
) -> None:
    assert holds(query, text, title, site, lang) is expected


PARSE_CASES = [
    ("title:Baku", Scope("title", Term(("baku",), False, "Baku")), "title-scope"),
    ("site:WWW.Example.org", Meta("site", "example.org"), "site-lowered-no-www"),
    ("lang:RU", Meta("lang", "ru"), "lang-lowered"),
    (
        '"a b"~4',
        Near(Term(("a",), False, "a"), Term(("b",), False, "b"), 4, False),
        "tilde-is-near",
    ),
]


@pytest.mark.parametrize(
    ("query", "tree"), [c[:2] for c in PARSE_CASES], ids=[c[2] for c in PARSE_CASES]
)
def test_parse_tree(query: str, tree: object) -> None:
    assert parse_query(query, GROUPS) == tree


ERROR_CASES = [
    ("title: Baku", "title: must be followed directly by what to look for", 0, "scope-space"),
    ("Baku title:", "title: must be followed directly", 5, "scope-at-end"),
    ("site:(a OR b)", "site: takes one value", 0, "site-needs-value"),
    ('"a b"~x', "'~' after a phrase needs a number of words", 5, "tilde-not-number"),
    ('"a b"~', "'~' after a phrase needs a number of words", 5, "tilde-no-number"),
    ('"a"~3', "needs at least two words", 0, "tilde-one-word"),
    ("a NEAR/3 site:x.org", "cannot be a site: or lang: test", 2, "near-meta"),
    ("a NEAR/3 -b", "the right side of NEAR/3 cannot be negated", 2, "near-negated"),
    ("a “b", "unclosed quote", 2, "curly-unclosed"),
    ("(a OR b", "'(' is never closed", 0, "unclosed-paren"),
]


@pytest.mark.parametrize(
    ("query", "fragment", "position"),
    [c[:3] for c in ERROR_CASES],
    ids=[c[3] for c in ERROR_CASES],
)
def test_errors_name_the_column(query: str, fragment: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query, GROUPS)
    assert fragment in str(info.value)
    assert info.value.position == position
    assert str(info.value).endswith(f"at column {position + 1}")


# --------------------------------------------------------------------------- the engine


def wl(name: str, query: str, threshold: float = 0.0) -> Watchlist:
    return Watchlist(name=name, query=query, tree=parse_query(query, GROUPS), threshold=threshold)


def test_only_watchlists_with_a_hit_are_evaluated() -> None:
    many = [wl(f"w{i}", f"zzterm{i} AND yyterm{i}") for i in range(2000)]
    matcher = Matcher([*many, wl("baku", "Baku"), wl("not-yerevan", "NOT Yerevan")])
    assert len(matcher.index) == 4002  # every term of every watchlist, compiled once
    doc = Document(text="Talks in Baku, and zzterm7 alone.")
    hits = matcher.index.scan(doc)
    # w7 (one term hit), baku (hit), not-yerevan (may hold without hits); nobody else.
    assert matcher.candidates(hits) == [7, 2000, 2001]
    assert [m.watchlist for m in matcher.match(doc)] == ["baku", "not-yerevan"]


def test_shared_terms_compiled_once() -> None:
    matcher = Matcher([wl("a", "Baku AND Moscow"), wl("b", "baku OR BAKU"), wl("c", "Baku*")])
    assert len(matcher.index) == 3  # " baku ", " moscow ", " baku" (prefix)


def test_hits_carry_each_watchlists_own_spelling() -> None:
    matcher = Matcher([wl("a", "Baku"), wl("b", "BAKU")])
    a, b = matcher.match(Document(text="In Baku."))
    assert [h.term for h in a.hits] == ["Baku"]
    assert [h.term for h in b.hits] == ["BAKU"]


def test_offsets_survive_length_changing_folds() -> None:
    text = "Die Straße in Baku, dann Moskau."
    [match] = Matcher([wl("x", "Baku")]).match(Document(text=text))
    [hit] = match.hits
    assert text[hit.start : hit.end] == "Baku"
    assert hit.position == 3


def test_offsets_with_typographic_punctuation() -> None:
    text = "“Russia’s envoy” – said Aliyev\u00a0in Baku…"
    [match] = Matcher([wl("x", "Aliyev NEAR/3 Baku")]).match(Document(text=text))
    assert [text[h.start : h.end] for h in match.hits] == ["Aliyev", "Baku"]
    assert [h.position for h in match.hits] == [4, 6]  # russia s envoy said aliyev in baku
    assert match.snippets == ("“Russia’s envoy” – said **Aliyev** in **Baku**…",)


@pytest.mark.parametrize(
    ("query", "title", "text", "score"),
    [
        ("Baku", "", "Baku.", 1.0),
        ("Baku", "Baku", "", 3.0),
        ("Baku", "Baku", "Baku and Baku", 5.0),
        ("Baku NEAR/4 Moscow", "", "Baku Moscow", 2.0 + 2.0),
        ("Baku NEAR/4 Moscow", "", "Baku a b c d Moscow", 2.0 + 2.0 * (1 - 4 / 5)),
        ("Baku NEAR/4 Moscow", "", "Baku a b c d e Moscow", 0.0),
    ],
    ids=["one-text", "one-title", "title-and-two-text", "adjacent-bonus", "far-bonus", "too-far"],
)
def test_score_counts_title_hits_and_proximity(
    query: str, title: str, text: str, score: float
) -> None:
    found = Matcher([wl("x", query)]).match(Document(title=title, text=text))
    assert (found[0].score if found else 0.0) == pytest.approx(score)


def test_closer_pairs_score_higher() -> None:
    matcher = Matcher([wl("x", "Aliyev NEAR/10 Putin")])
    [near] = matcher.match(Document(text="Aliyev called Putin"))
    [far] = matcher.match(Document(text="Aliyev called, after a long day of talks, Putin"))
    assert near.score > far.score
    assert (
        near.explanation()["score_parts"]["proximity"]
        > far.explanation()["score_parts"]["proximity"]
    )  # type: ignore[index]


def test_threshold_uses_the_full_score() -> None:
    matcher = Matcher([wl("x", "Baku NEAR/3 Moscow", threshold=3.5)])
    assert matcher.match(Document(text="Baku Moscow"))  # 2 hits + 2.0 proximity
    assert not matcher.match(Document(text="Baku a b c Moscow"))  # 2 + 0.5


def test_site_only_watchlist_is_evaluated_without_hits() -> None:
    matcher = Matcher([wl("site", "site:sputnik.az"), wl("baku", "Baku")])
    found = matcher.match(Document(text="Nothing here.", site="https://sputnik.az/news/1"))
    assert [m.watchlist for m in found] == ["site"]
    assert found[0].hits == ()


def test_explanation_lists_rule_terms_fields_positions_and_snippets() -> None:
    doc = Document(title="Aliyev and Putin", text="Later, Aliyev said Putin apologised.")
    [m] = Matcher([wl("x", "@aliyev NEAR/3 @kremlin")]).match(doc)
    e = m.explanation()
    assert e["rule"] == "@aliyev NEAR/3 @kremlin"
    assert e["hits"] == [
        {"term": "Aliyev", "field": "title", "position": 0, "span": [0, 6]},
        {"term": "Putin", "field": "title", "position": 2, "span": [11, 16]},
        {"term": "Aliyev", "field": "text", "position": 1, "span": [7, 13]},
        {"term": "Putin", "field": "text", "position": 3, "span": [19, 24]},
    ]
    assert e["snippets"] == ["Later, **Aliyev** said **Putin** apologised."]


def test_explanation_lists_the_first_hits_of_each_term_and_counts_all() -> None:
    text = " ".join(["Baku"] * 12 + ["Moscow"] * 2)
    [m] = Matcher([wl("x", "Baku Moscow")]).match(Document(text=text))
    assert [h.term for h in m.hits] == ["Baku"] * 3 + ["Moscow"] * 2
    assert m.explanation()["hit_counts"] == {"Baku": 12, "Moscow": 2}
    assert m.score == 14.0  # every hit counts, listed or not


# ------------------------------------------------------------ offsets, hits shared by nodes

OFFSET_TEXTS = [
    "Baku, Bakunin; baku... BAKU-baku (Baku)",
    "  ...Leading separators: Baku,, Moscow!! Baku",
    "Sputnik Azerbaijan, Sputnik - Azerbaijan; Sputnik\n\nAzerbaijan",
    "Putin Putin Putin, Putin. Putin",
    "«Алиев» и Алиеву — Алиева: Alievs… Aliev",
]


@pytest.mark.parametrize("text", OFFSET_TEXTS, ids=range(len(OFFSET_TEXTS)))
def test_every_word_maps_back_to_its_place(text: str) -> None:
    # The map from canonical text (runs of separators squeezed) back to the original, asked
    # for every word in order, and again out of order, gives each word's own span.
    doc = Document(text=text)
    canonical = doc.canonical("text")
    starts = [i + 1 for i, char in enumerate(canonical[:-1]) if char == " "]
    ends = [canonical.index(" ", start) for start in starts]
    expected = [m.span() for m in re.finditer(r"\S+", doc.spaced("text"))]
    listed = [(1, start, 1, "w", end) for start, end in zip(starts, ends, strict=True)]
    hits = Document(text=text).hits(listed)
    assert [(h.start, h.end) for h in hits] == expected
    assert [h.position for h in hits] == list(range(len(expected)))
    for start, span in reversed(list(zip(starts, expected, strict=True))):
        assert doc.position(1, start) == starts.index(start)
        assert doc.hits([(1, start, 1, "w", canonical.index(" ", start))])[0][3:5] == span


def test_later_hits_of_a_repeated_word_get_their_own_offsets() -> None:
    text = "Baku, then Bakunin; Baku again. Baku! And BAKU."
    [m] = Matcher([wl("x", "Baku")]).match(Document(text=text))
    assert [(h.start, h.end, h.position) for h in m.hits] == [(0, 4, 0), (20, 24, 3), (32, 36, 5)]
    assert m.explanation()["hit_counts"] == {"Baku": 4}


def test_phrase_hits_after_separator_runs() -> None:
    text = "Sputnik, Azerbaijan; then Sputnik -- Azerbaijan."
    [m] = Matcher([wl("x", '"Sputnik Azerbaijan"')]).match(Document(text=text))
    assert [text[h.start : h.end] for h in m.hits] == [
        "Sputnik, Azerbaijan",
        "Sputnik -- Azerbaijan",
    ]
    assert [h.position for h in m.hits] == [0, 3]


@pytest.mark.parametrize(
    ("query", "text", "score"),
    [
        ("Baku AND (Baku OR Moscow)", "Baku and Moscow", 2.0),  # Baku counted once
        ("Baku OR baku", "Baku", 2.0),  # two spellings, two terms as written
        ("Baku NEAR/3 Baku", "Baku", 0.0),  # a hit is not near itself
        ("Baku NEAR/3 Baku", "Baku and Baku", 2.0 + 2.0 * (1 - 1 / 4)),
        ("(Baku OR Moscow) NEAR/2 (Baku OR Moscow)", "Baku x Moscow", 2.0 + 2.0 * (1 - 1 / 3)),
    ],
    ids=["shared-hit-once", "spellings-apart", "not-near-itself", "near-itself-twice", "groups"],
)
def test_hits_reached_by_several_nodes(query: str, text: str, score: float) -> None:
    found = Matcher([wl("x", query)]).match(Document(text=text))
    assert (found[0].score if found else 0.0) == pytest.approx(score)


def test_scan_reports_hits_per_field_and_term() -> None:
    matcher = Matcher([wl("a", "Baku"), wl("b", "Moscow*")])
    hits = matcher.index.scan(Document(title="Baku", text="Baku, Moscow and Moscow's Muscovites"))
    assert len(hits) == 4  # title Baku; text Baku, Moscow, Moscow('s)
    assert sorted(hits.terms) == [0, 1]
    assert [len(found.get(0, [])) for found in hits.fields] == [1, 1]


def _folded_whole_runs(text: str) -> str:
    """The reference form: every run of non-ASCII characters folded as a whole (slow)."""
    for char in "\u2019\u2018\u201c\u201d\u00ab\u00bb\u2013\u2014\u2010\u2011\u00a0\u2026":
        text = text.replace(char, " ")
    text = re.sub(r"[^\x00-\x7f]+", lambda m: normalize._fold_run(m.group()), text).lower()
    return re.sub(r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]", " ", text)


SCRIPT_SAMPLES = {
    "russian": "Путин позвонил Алиеву: «Ёлки-палки», — сказал он; ещё 5° и №7. " * 3,
    "russian-stress": "Алие\u0301в и Пу\u0301тин в Баку\u0301, Москве\u0301 и Екатеринбу\u0301рге.",
    "armenian": "Հայաստանի և Ադրբեջանի ԱԳ նախարարները Երևանում, Վաշինգտոնում",
    "azerbaijani": "Əliyev, Azərbaycan Respublikası, Şuşa, İlham, Gəncə, Xankəndi, Ağdam",
    "greek": "ΟΔΥΣΣΕΑΣ και Σοφία στην Αθήνα· ΑΘΗΝΑΣ",
    "german": "Straße, Größe, Maß und Fuß in Köln",
    "hangul-jamo": "ㄱㅏ 가나다 ᄀ\u1161 한국어 "
    + "Путин и Алиев в Баку, Москве, Ереване, Тбилиси.",
    "mixed": "Erdoğan, Путин, Əliyev, Հայաստան, ΣΟΦΙΑ, ﬁnance, Ⅻ, ①, q\u0301 — … «»",
}


@pytest.mark.parametrize("name", list(SCRIPT_SAMPLES))
def test_spaced_folds_as_whole_runs_would(name: str) -> None:
    # spaced() leaves plain Cyrillic and Armenian letters to one lower() and replaces the few
    # other characters one by one; it must give what folding every run as a whole gives.
    text = unicodedata.normalize("NFC", SCRIPT_SAMPLES[name])
    assert normalize.spaced(text) == _folded_whole_runs(text)
