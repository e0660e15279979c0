"""Navigate the Snakemake 9 HTML report (a React single-page app with no URL routes) in a :class:`Chromium`.

The report keeps its entries in the globals ``categories`` (category -> subcategory -> paths) and ``results``
(path -> name, caption, mime_type, data_uri) and its view in ``app.state``; ``app.setView`` is what its own
buttons call. Images render as ``<img>``, HTML entries in a ``data:`` iframe, every other type is
download-only; :func:`open_entry` shows text entries in the app's own text view (as its licence pages do).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from sgt.report.browser import Chromium

VIEWS: dict[str, str] = {  # mime type -> the app's content view (ContentDisplay)
    "image/png": "img",
    "image/jpeg": "img",
    "image/svg+xml": "img",
    "text/html": "html",
    "application/pdf": "pdf",
}
RANK = {"html": 0, "img": 1, "pdf": 2, "text": 3}  # which file of an entry a name opens first


@dataclass(frozen=True)
class Entry:
    """One result of the report."""

    path: str
    name: str
    category: str
    subcategory: str
    mime_type: str
    labels: tuple[str, ...] = ()  # the values of its report() labels: what its category list shows

    @property
    def view(self) -> str:
        return VIEWS.get(self.mime_type, "text")


def load_report(browser: Chromium, report: str | Path) -> dict[str, Entry]:
    """Open ``report`` and return its entries by path, in the report's order."""
    browser.open(report)
    browser.wait_for("typeof app !== 'undefined' && !!document.querySelector('nav')", "the report app")
    listing = browser.evaluate(
        "JSON.stringify(Object.entries(categories).flatMap(([c, subs]) => Object.entries(subs).flatMap("
        "([s, paths]) => paths.map(p => [p, results[p].name, c, s, results[p].mime_type, "
        "Object.values(results[p].labels || {}).map(String)]))))"
    )
    return {row[0]: Entry(*row[:5], tuple(row[5])) for row in json.loads(listing)}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def resolve(entries: dict[str, Entry], name: str) -> Entry:
    """The entry a user means: its path, or its file name without extension ("Table 3" -> table3.html,
    "fig3a" -> fig3a.png); among an entry's formats the one the report shows inline wins."""
    if name in entries:
        return entries[name]
    matches = [e for e in entries.values() if _key(Path(e.path).stem) == _key(name)]
    if not matches:
        known = sorted({Path(e.path).stem for e in entries.values()})
        raise KeyError(f"no report entry named {name!r}; give a path or one of: {', '.join(known)}")
    best = min(RANK[e.view] for e in matches)
    matches = [e for e in matches if RANK[e.view] == best]
    if len(matches) > 1:
        raise KeyError(
            f"{name!r} names several entries ({', '.join(e.path for e in matches)}); give the path"
        )
    return matches[0]


def show_category(browser: Chromium, category: str, subcategory: str) -> str:
    """List one (sub)category in the navigation bar, as its menu item does; return the bar's text.

    Back to the menu first, as a user goes: the app's list keeps the entries it was built with when it
    is switched from one subcategory straight to another."""
    browser.evaluate("app.setView({navbarMode: 'menu'})")
    browser.wait_for("app.state.navbarMode === 'menu'", "the report's menu")
    browser.evaluate(
        f"app.setView({{navbarMode: 'subcategory', category: {json.dumps(category)}, "
        f"subcategory: {json.dumps(subcategory)}}})"
    )
    return browser.wait_for(
        f"app.state.subcategory === {json.dumps(subcategory)} && app.state.navbarMode === 'subcategory' && "
        "document.querySelector('nav') && document.querySelector('nav').innerText",
        f"category {category}/{subcategory} to list",
    )


def open_entry(browser: Chromium, entry: Entry) -> str:
    """Show ``entry`` (its result info in the bar, its content in the main pane); return the rendered DOM of
    the content: the iframe's document for HTML, the ``<img>`` for images, the text view for the rest."""
    path = json.dumps(entry.path)
    view = {"content": entry.view, "navbarMode": "resultinfo", "resultPath": entry.path,
            "category": entry.category, "subcategory": entry.subcategory}  # fmt: skip
    data = f"results[{path}].data_uri"
    if entry.view == "text":
        text = f"new TextDecoder().decode(Uint8Array.from(atob({data}.split(',')[1]), c => c.charCodeAt(0)))"
        browser.evaluate(f"app.setView({{...{json.dumps(view)}, contentText: {text}}})")
        return browser.wait_for(
            f"(() => {{ const p = document.querySelector('pre'); return p && p.textContent === {text} && "
            "p.outerHTML; })()",
            f"{entry.path} in the text view",
        )
    browser.evaluate(f"app.setView({{...{json.dumps(view)}, contentPath: {data}}})")
    browser.wait_for(f"app.state.resultPath === {path} && app.state.contentPath === {data}", entry.path)
    if entry.view == "img":
        return browser.wait_for(
            f"(() => {{ const i = [...document.querySelectorAll('img')].find(x => x.src === {data});"
            " return i && i.complete && i.naturalWidth > 0 && i.outerHTML.slice(0, 200) + "
            "` naturalWidth=${i.naturalWidth} naturalHeight=${i.naturalHeight}`; })()",
            f"the image {entry.path}",
        )
    browser.wait_for("!!document.querySelector('iframe')", f"the frame of {entry.path}")
    if entry.view == "pdf":
        return browser.evaluate("document.querySelector('iframe').outerHTML.slice(0, 200)")
    context = browser.frame_context(_wait_for_frame(browser, entry, browser.evaluate(data)))
    return browser.wait_for(
        "document.readyState === 'complete' && document.body && document.documentElement.outerHTML",
        f"{entry.path} to render in its frame",
        context,
    )


def _wait_for_frame(browser: Chromium, entry: Entry, data_uri: str) -> str:
    """The id of the frame showing ``data_uri`` (not the previous entry's, which React may not have replaced
    yet); the URI's head names the file, so its first few hundred characters tell entries apart."""

    def showing() -> list[dict[str, str]]:
        return [f for f in browser.frames() if f["url"][:300] == data_uri[:300]]

    return browser.wait_for_value(showing, f"the frame of {entry.path} to load")[-1]["id"]


def hide_navbar(browser: Chromium) -> None:
    """Close the navigation bar (the app's own close button) so the content gets the whole window."""
    browser.evaluate("app.setView({hideNavbar: true})")
    browser.wait_for("document.querySelector('nav').getBoundingClientRect().width === 0", "the bar to close")


def navbar_text(browser: Chromium) -> str:
    """What the navigation bar shows now (e.g. an entry's caption)."""
    return browser.evaluate("document.querySelector('nav') ? document.querySelector('nav').innerText : ''")
