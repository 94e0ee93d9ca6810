"""The article's prose is kept where trafilatura would prune it for a class name
(``monitor/rescue.py``), and only there."""

from __future__ import annotations

from typing import Any

import pytest
import trafilatura
from lxml import etree
from lxml.html import fragment_fromstring

from monitor import rescue
from monitor.extract import extract_page

STORY = [
    "The harbour authority closed the northern pier on Tuesday after inspectors found cracks "
    "in three of its concrete pillars, a spokesperson said.",
    "Ferries that normally dock there will use the southern terminal until repairs are "
    "finished, which engineers expect to take at least six weeks.",
    "Local traders said the closure came at the worst time of the year, with the summer season "
    "about to begin and bookings already higher than last year.",
    "The authority said the pier had passed its last full inspection four years ago and that "
    "the cracks appeared to have widened during the winter storms.",
]
FEATURES = [
    f"Feature {n}: timetables, prices and directions for every terminal, updated each morning"
    for n in range(9)
]
META = "Filed under harbour news, ferries and the weather by the city desk team"
TEASERS = [f"Teaser story number {n} about something else entirely" for n in range(8)]
URL = "https://example.com/news/pier"

needs_checked_trafilatura = pytest.mark.skipif(
    not rescue.install(), reason=f"trafilatura {trafilatura.__version__} keeps its own guard"
)


def page(box_class: str, *, story: list[str] = STORY, teasers: str = "") -> bytes:
    """A news page whose story sits in two boxes named ``box_class``, beside a list that is
    not named as furniture and a "more news" box that is."""
    boxes = "".join(
        f'<div class="{box_class}">{"".join(f"<p>{line}</p>" for line in story[at : at + 2])}</div>'
        for at in range(0, len(story), 2)
    )
    features = "".join(f"<li>{line}</li>" for line in FEATURES)
    teasers = teasers or "".join(f'<li><a href="/t{n}">{t}</a></li>' for n, t in enumerate(TEASERS))
    return f"""<html><head><title>Pier closed</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<main id="content"><h1>Northern pier closed after cracks found</h1>{boxes}
<div class="article-meta">{META}</div>
<div class="visit"><h2>Plan your visit with the harbour app</h2><ul>{features}</ul>
<p>Download it today.</p></div>
<div class="related-widget"><h2>More news</h2><ul>{teasers}</ul></div>
</main><footer><p>Copyright 2026 Harbour News</p></footer></body></html>""".encode()


@needs_checked_trafilatura
@pytest.mark.parametrize(
    # trafilatura's furniture words, matched inside a longer name: widget, slide, bar, sidebar
    "box_class",
    ["text-widget", "elementor-widget-container", "listicle-slides", "bard", "with-sidebar"],
)
def test_story_in_boxes_named_like_furniture_is_kept(box_class: str) -> None:
    html = page(box_class)
    bare = trafilatura.extract(html, url=URL, include_comments=False) or ""
    assert STORY[0] not in bare  # trafilatura alone, in this same process, loses the story
    text = extract_page(html, url=URL).text
    for line in STORY:
        assert line in text
    for furniture in [META, *TEASERS]:  # the other boxes trafilatura prunes still go
        assert furniture not in text


@needs_checked_trafilatura
def test_teasers_written_as_paragraphs_are_not_prose() -> None:
    """A "more news" box of linked paragraphs holding most of the paragraph text is no
    article: it goes, as with trafilatura alone."""
    linked = "".join(
        f'<p><a href="/t{n}">{t}, and a longer summary of what that story said</a></p>'
        for n, t in enumerate(TEASERS * 2)
    )
    html = page("text-block", teasers=linked)
    text = extract_page(html, url=URL).text
    assert STORY[0] in text
    assert TEASERS[0] not in text


@needs_checked_trafilatura
def test_prose_holding_less_than_half_the_paragraphs_goes_as_before() -> None:
    """A box of prose named like furniture, beside a longer story in plain paragraphs, is
    pruned for its name as trafilatura prunes it."""
    other = (
        "The museum on the quay opens its summer exhibition of ship models next week, with "
        "more than two hundred pieces lent by collectors from across the region. "
        "The oldest model is a merchant ship carved about 1750 by a sailor on a long voyage. "
        "Children under twelve go in free, and the cafe on the top floor looks over the whole "
        "harbour, the lighthouse and, on a clear day, the islands beyond the breakwater. "
        "The exhibition runs until the end of September, every day but Monday, and the "
        "museum's own boatyard shows how the models are restored."
    )
    story = "".join(f"<p>{line}</p>" for line in STORY * 2)
    html = f"""<html><body><nav><a href="/">Home</a></nav><main id="content">
<h1>Northern pier closed</h1>{story}<div class="text-widget"><p>{other}</p></div>
<div class="visit"><ul>{"".join(f"<li>{line}</li>" for line in FEATURES)}</ul></div>
</main></body></html>""".encode()
    text = extract_page(html, url=URL).text
    assert STORY[3] in text
    assert other not in text


@needs_checked_trafilatura
@pytest.mark.parametrize("repeat", [1, 4])
def test_a_box_of_prose_is_kept_from_min_prose_characters_on(repeat: int) -> None:
    """``prune`` itself, on a container holding a box named like furniture and a list: the
    box's prose is kept only from ``MIN_PROSE`` characters on."""
    words = " ".join(STORY[:repeat])
    tree = fragment_fromstring(
        f'<div><h1>Pier</h1><div class="w"><p>{words}</p></div>'
        f"<ul>{''.join(f'<li>{line}</li>' for line in FEATURES)}</ul></div>"
    )
    with rescue.active():
        rescue.prune(tree, [etree.XPath('.//div[@class="w"]')], with_backup=True)
    assert (len(words) > rescue.MIN_PROSE) == (words in tree.text_content())
    assert FEATURES[0] in tree.text_content()


@needs_checked_trafilatura
def test_furniture_inside_a_kept_box_still_goes() -> None:
    """A meta line inside one of the story's boxes, matched by trafilatura's words too, is no
    prose: it goes although the box around it stays."""
    meta = '<div class="post-meta">Posted in Harbour, Ferries, Weather and Transport</div>'
    html = page("elementor-widget-container").replace(
        f"<p>{STORY[1]}</p></div>".encode(), f"<p>{STORY[1]}</p>{meta}</div>".encode(), 1
    )
    assert meta.encode() in html
    text = extract_page(html, url=URL).text
    assert STORY[0] in text and STORY[3] in text
    assert "Posted in Harbour" not in text


@needs_checked_trafilatura
def test_a_box_of_linked_paragraphs_is_not_kept_by_prune() -> None:
    """``prune`` itself: teasers written as linked paragraphs, most of the container's
    paragraph text, go."""
    teasers = "".join(f'<p><a href="/t{n}">{STORY[n]}</a></p>' for n in range(4))
    tree = fragment_fromstring(
        f'<div><h1>Pier</h1><div class="w">{teasers}</div><p>{STORY[0][:80]}</p>'
        f"<ul>{''.join(f'<li>{line}</li>' for line in FEATURES)}</ul></div>"
    )
    with rescue.active():
        rescue.prune(tree, [etree.XPath('.//div[@class="w"]')], with_backup=True)
    assert STORY[3] not in tree.text_content()
    assert FEATURES[0] in tree.text_content()


@needs_checked_trafilatura
def test_outside_news_monitors_extraction_trafilatura_runs_its_own_guard() -> None:
    extract_page(page("text-widget"), url=URL)  # installed, and used once
    assert STORY[0] not in (trafilatura.extract(page("text-widget"), url=URL) or "")
    with rescue.active():
        assert STORY[0] in (trafilatura.extract(page("text-widget"), url=URL) or "")


def test_prose_is_paragraph_text_with_few_links() -> None:
    prose = fragment_fromstring("<div><h2>Heading</h2><p>One two three.</p><p>Four.</p></div>")
    assert rescue.prose(prose) == len("One two three.") + len("Four.")
    linked = '<div><p><ref target="/x">Linked text here</ref> and more</p></div>'
    assert rescue.prose(fragment_fromstring(linked)) == 0
    assert rescue.prose(fragment_fromstring("<div></div>")) == 0


GUIDE = [
    "Index funds track a market index, so an investor owns a small slice of every company in "
    "it without picking stocks one by one.",
    "Costs matter more than anything else over decades: a fund charging one percent a year can "
    "take a third of the final sum.",
    "Before buying, check which index the fund follows, what it charges, and whether your "
    "broker adds a fee of its own.",
]
BULLETS = [
    "Large companies: the S&P 500 and the Dow Jones Industrial Average",
    "Small companies: the Russell 2000 and the S&P SmallCap 600",
    "Other countries: the MSCI EAFE and the MSCI Emerging Markets indexes",
]
MENU = [f"Menu item {n}" for n in range(6)]


def guide_page() -> bytes:
    """A how-to laid out in plain divisions (no article container trafilatura knows), its
    paragraphs around a bullet list, under a menu."""
    menu = "".join(f'<li><a href="/m{n}">{item}</a></li>' for n, item in enumerate(MENU))
    bullets = "".join(f"<li>{line}</li>" for line in BULLETS)
    return f"""<html><body><div class="top"><ul>{menu}</ul></div>
<div class="x1"><div class="x2"><h1>How to invest in index funds</h1>
<p>{GUIDE[0]}</p><p>{GUIDE[1]}</p><div>The main kinds of index:</div><ul>{bullets}</ul>
<p>{GUIDE[2]}</p></div></div><div class="bottom">1 Main Street</div></body></html>""".encode()


@needs_checked_trafilatura
def test_lists_the_recovery_leaves_out_are_kept_in_their_place() -> None:
    bare = trafilatura.extract(guide_page(), url=URL, include_comments=False) or ""
    assert GUIDE[0] in bare and BULLETS[0] not in bare  # trafilatura alone drops the list
    text = extract_page(guide_page(), url=URL).text
    at = [text.index(line) for line in [GUIDE[0], GUIDE[1], *BULLETS, GUIDE[2]]]
    assert at == sorted(at)
    assert not any(item in text for item in MENU)


def blocks(*items: tuple[str, str]) -> etree._Element:
    body = etree.Element("body")
    for tag, text in items:
        etree.SubElement(body, tag).text = text
    return body


def test_add_lists_places_new_lists_after_the_last_shared_block() -> None:
    narrow = blocks(("head", "Kept before"), ("p", "One"), ("p", "Two"), ("p", "Three"))
    wide = blocks(
        ("head", "Kept before"),
        ("p", "One"),
        ("list", "Bullets"),
        ("div", "A division"),  # not a list: left out
        ("p", "Three"),
        ("list", "Closing list"),
        ("list", "Two"),  # its text is there already
    )
    merged = rescue.add_lists(narrow, wide, start=1)
    assert [(b.tag, b.text) for b in merged] == [
        ("head", "Kept before"),
        ("p", "One"),
        ("list", "Bullets"),
        ("p", "Two"),
        ("p", "Three"),
        ("list", "Closing list"),
    ]


def test_add_lists_leaves_the_blocks_before_start_alone() -> None:
    narrow = blocks(("p", "Main pass"))
    wide = blocks(("list", "Main pass copy"), ("list", "Found"))
    merged = rescue.add_lists(narrow, wide, start=1)
    assert [(b.tag, b.text) for b in merged] == [("p", "Main pass"), ("list", "Found")]


@needs_checked_trafilatura
def test_a_failing_wider_recovery_leaves_trafilaturas_own(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    own = rescue._recover

    def fails_on_recall(tree: Any, body: Any, options: Any, *rest: Any) -> Any:
        if options.focus == "recall":
            raise ValueError("broken markup")
        return own(tree, body, options, *rest)

    monkeypatch.setattr(rescue, "_recover", fails_on_recall)
    text = extract_page(guide_page(), url=URL).text
    assert GUIDE[0] in text and GUIDE[2] in text
    assert BULLETS[0] not in text
    assert "recovery of lists failed: ValueError: broken markup" in caplog.text


@needs_checked_trafilatura
def test_the_recovery_leaves_the_callers_options_as_they_were() -> None:
    """The wider reading uses a copy of trafilatura's options: the stages after the recovery
    still run balanced."""
    from trafilatura.settings import Extractor

    options = Extractor(output_format="python", comments=False)
    assert options.focus == "balanced"
    tree = fragment_fromstring(f"<div><p>{GUIDE[0]}</p><ul><li>{BULLETS[0]}</li></ul></div>")
    with rescue.active():
        rescue.recover(tree, etree.Element("body"), options)
    assert options.focus == "balanced"


@needs_checked_trafilatura
def test_worker_processes_keep_the_story_and_the_lists_too() -> None:
    """The worker processes (``[fetch] workers``, spawned) wrap trafilatura as this process
    does: the rules hold in the daemon's configuration too."""
    import asyncio

    from monitor import workers

    async def both() -> list[Any]:
        return [
            await workers.extract(1, html, url=URL, site_boilerplate=frozenset())
            for html in (page("bard"), guide_page())
        ]

    try:
        story, guide = asyncio.run(both())
    finally:
        workers.shutdown()
    assert STORY[0] in story.text
    assert BULLETS[0] in guide.text
