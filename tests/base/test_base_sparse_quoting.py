"""The request quoting spoken over the socket is ``urllib.parse``'s, without importing it."""

from __future__ import annotations

import random
from urllib.parse import quote, quote_plus, urlencode

from ds01.base import sparse

SAMPLES = [
    "/containers/a b/json",
    "/images/x/../../containers/json",
    "/containers/é:@~!*()'%/x",
    "/a?b#c&d=e+f",
    "",
    "ds01.user=alice",
    '{"label": ["aime.mlc=bob", "ds01.gpu.slots=0;1"]}',
]


def _random_texts(count: int) -> list[str]:
    rng = random.Random(1)
    alphabet = [chr(c) for c in range(32, 127)] + ["é", "ß", "\u2603", "\t", "\n", "\U0001f600"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 24))) for _ in range(count)]


def test_paths_are_quoted_as_urllib_quotes_them_with_separators_kept():
    for text in SAMPLES + _random_texts(500):
        assert sparse.quote_path(text) == quote(text, safe="/:@"), text


def test_queries_are_encoded_as_urlencode_encodes_them():
    for text in SAMPLES + _random_texts(500):
        assert sparse.quote_plus(text) == quote_plus(text), text
        assert sparse.urlencode({"filters": text, text or "k": "v"}) == urlencode({"filters": text, text or "k": "v"})
