"""Flesch–Kincaid grade level of the site's pages, to keep patient-facing text plain.

    python scripts/readability.py http://127.0.0.1:8000/patients/first-visit/ ...   (rendered pages)
    python scripts/readability.py articles/content/conditions/*.md                    (content files)

The grade is 0.39 × words per sentence + 11.8 × syllables per word − 15.59. Syllables are counted with
the usual vowel-group rule, which is close enough to compare pages with one another and with a target.
"""

import re
import sys
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n\s*\n|\n\s*[-*\d]")


def syllables(word):
    word = word.lower().replace("’", "'")
    if len(word) <= 3:
        return 1
    word = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", word)
    word = re.sub(r"^y", "", word)
    return max(1, len(re.findall(r"[aeiouy]{1,2}", word)))


def grade(text):
    """Flesch–Kincaid grade of plain text; list items and headings count as sentences."""
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len([s for s in _SENTENCE_END.split(text) if _WORD.search(s)]))
    syl = sum(syllables(w) for w in words)
    return round(0.39 * len(words) / sentences + 11.8 * syl / len(words) - 15.59, 1)


class _MainText(HTMLParser):
    """The visible text of a page's <main>, one line per block element."""

    BLOCKS = {"p", "li", "h1", "h2", "h3", "td", "th", "dt", "dd"}

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.depth += 1
        if self.depth and tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def html_text(html):
    parser = _MainText()
    parser.feed(html)
    return "".join(parser.parts)


def markdown_text(source):
    body = source.split("+++", 2)[-1]
    body = re.sub(r"\]\([^)]*\)", "]", body)  # link targets are not read
    return re.sub(r"[#*_`\[\]]", "", body)


def main(targets):
    for target in targets:
        if target.startswith(("http://", "https://")):
            with urllib.request.urlopen(target) as response:  # noqa: S310 (a URL the operator typed)
                text = html_text(response.read().decode())
        else:
            text = markdown_text(Path(target).read_text(encoding="utf-8"))
        print(f"{grade(text):5.1f}  {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
