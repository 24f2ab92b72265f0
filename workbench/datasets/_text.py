"""Short news-like texts on six topics, for text classification and topic modelling.

Generating process
------------------
Every document gets a dominant topic (uniform over sports, finance, technology, health,
travel, food; it is the label) and a topic mixture ``theta ~ Dirichlet(alpha)`` with
``alpha = 3`` for the dominant topic and ``0.15`` for each other one, so most words
come from the dominant topic and some from others. The document is 2 or 3 sentences, each
drawn from 16 sentence templates of 4 to 10 words ("the A N V the N", "many N V A N at the
N", ...) whose function words are fixed and whose slots (noun N, past-tense verb V,
adjective A) are filled independently: with probability 0.2 from a shared general
vocabulary (people, report, announced, new, ...), otherwise from the vocabulary of a topic
drawn from ``theta``. Each topic has 26 nouns, 10 verbs and 8 adjectives (44 real English
words); a few words belong to two topics on purpose (market: finance and food, restaurant:
food and travel, fitness and injury: sports and health, tested: health and technology,
healthy: health and food, online: technology and finance, price: finance and travel,
season: sports and travel). Within a list, words follow a Zipf-like law (weight
``1 / (rank + 1) ** 0.7``). "a" becomes "an" before a vowel; sentences are capitalised
and end with a full stop.

TF-IDF with a logistic regression classifies about 90% of documents correctly: far above
the 1/6 chance level, but not perfect because of mixing, shared and ambiguous words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOPICS = ("sports", "finance", "technology", "health", "travel", "food")
_NOUNS = {
    "sports": "team match goal coach league season player stadium striker referee tournament "
    "trophy championship fans defender goalkeeper final race athlete medal marathon fitness "
    "squad victory injury penalty",
    "finance": "bank market stock investor shares bond loan interest inflation budget profit "
    "revenue dividend portfolio economy tax mortgage currency fund earnings debt pension "
    "broker savings credit price",
    "technology": "software app device smartphone computer chip network data cloud algorithm "
    "startup engineer robot laptop internet server code battery platform update security "
    "processor browser developer screen sensor",
    "health": "doctor patient hospital vaccine nurse clinic diet exercise sleep disease therapy "
    "medicine symptoms treatment surgery virus heart blood infection nutrition fitness "
    "wellness injury pharmacy diagnosis vitamin",
    "travel": "flight airport hotel beach passport tourist destination luggage trip journey "
    "cruise resort island museum tour visa train ticket price vacation holiday restaurant "
    "city mountain season suitcase",
    "food": "recipe chef restaurant kitchen dinner dessert bread cheese pasta salad soup flavor "
    "menu ingredient sauce vegetables fruit coffee wine meal breakfast market spice "
    "chocolate lunch dish",
}
_VERBS = {
    "sports": "scored won defeated trained signed celebrated tackled qualified benched cheered",
    "finance": "invested traded rallied borrowed lent audited raised cut paid forecast",
    "technology": "launched released tested installed upgraded hacked streamed downloaded "
    "debugged programmed",
    "health": "diagnosed treated prescribed recovered vaccinated exercised examined healed "
    "tested screened",
    "travel": "booked traveled visited explored flew toured packed arrived departed hiked",
    "food": "cooked baked tasted served grilled roasted seasoned ordered ate prepared",
}
_ADJECTIVES = {
    "sports": "athletic competitive unbeaten olympic fit decisive injured professional",
    "finance": "financial fiscal bullish bearish profitable volatile online quarterly",
    "technology": "digital wireless smart online virtual automated technical mobile",
    "health": "healthy medical clinical chronic mental nutritious sick immune",
    "travel": "scenic exotic coastal international historic sunny remote adventurous",
    "food": "delicious fresh spicy sweet crispy healthy organic homemade",
}
_SHARED = {
    "N": "people year week report plan group day time news family company program results "
    "record experts community study morning weekend country office event story meeting staff "
    "question",
    "V": "announced expected showed reported said shared planned discussed improved changed",
    "A": "new big local strong recent popular major important",
}
_TEMPLATES = (
    "the A N V the N", "the N V N in the N", "a A N V N for the N", "this N V a A N",
    "our N V the N of the N", "many N V A N at the N", "the N of the A N V N",
    "experts said the N V A", "the N V N and N", "why the A N V the N matters",
    "a N V on the A N", "the N was A", "the N V N", "after the N the N V A N",
    "the A N and the N V the N today", "the N V that the N V the A N",
)  # fmt: skip
_SLOTS = {"N": -1, "V": -2, "A": -3}
_SHARED_P = 0.2
_ALPHA_DOMINANT, _ALPHA_OTHER = 3.0, 0.15

CARD = {
    "title": "Short texts on six topics (classification and topic modelling)",
    "task": "text classification / topic modelling",
    "problem_type": "multiclass_classification",
    "target": "label",
    "description": "News-like short texts (8-30 words) on 6 topics drawn from topic mixtures.",
    "columns": {
        "text": "object (str) - the document: 2-3 sentences, 8 to 30 words",
        "topic": "object (str) - the dominant topic: " + ", ".join(TOPICS),
        "label": "int64 - target: code of the topic, "
        + ", ".join(f"{i}={t}" for i, t in enumerate(TOPICS)),
    },
    "generating_process": (
        "Dominant topic uniform over 6; mixture theta ~ Dirichlet(3 dominant, 0.15 others). "
        "2-3 sentences from 16 templates (4-10 words) whose noun/verb/adjective slots take a "
        "shared general word with probability 0.2, else a word of a topic drawn from theta "
        "(26 nouns, 10 verbs, 8 adjectives per topic, Zipf-like weights, a few words shared "
        "by two topics). TF-IDF + logistic regression: about 90% accuracy."
    ),
    "sizes": {"small": 2_000, "medium": 20_000, "large": 100_000},
    "sample_project": "NLP: topic modelling (LDA / NTM) and text classification (BlazingText)",
    "source": "generated",
}


def _vocabulary() -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """All words, slot word ids by part of speech (topics + shared row) and templates."""
    lists = {"N": _NOUNS, "V": _VERBS, "A": _ADJECTIVES}
    words = sorted(
        {w for t in _TEMPLATES for w in t.split() if w not in _SLOTS}
        | {w for table in lists.values() for text in table.values() for w in text.split()}
        | {w for text in _SHARED.values() for w in text.split()}
        | {"an"}
    )
    index = {w: i for i, w in enumerate(words)}
    slot_ids = {}
    for pos, table in lists.items():
        rows = [[index[w] for w in table[topic].split()] for topic in TOPICS]
        rows.append([index[w] for w in _SHARED[pos].split()])  # the shared row, same width
        slot_ids[pos] = np.array(rows)
    width = max(len(t.split()) for t in _TEMPLATES)
    codes = np.full((len(_TEMPLATES), width), -9)
    for i, template in enumerate(_TEMPLATES):
        row = [_SLOTS.get(w, index.get(w, -9)) for w in template.split()]
        codes[i, : len(row)] = row
    return np.array(words, dtype=object), slot_ids, codes


_WORDS, _SLOT_IDS, _TEMPLATE_CODES = _vocabulary()
_TEMPLATE_LENGTHS = (_TEMPLATE_CODES != -9).sum(axis=1)
_CAPITALISED = np.array([w.capitalize() for w in _WORDS], dtype=object)
_VOWEL_START = np.array([w[0] in "aeiou" for w in _WORDS])
_A, _AN = int(np.flatnonzero(_WORDS == "a")[0]), int(np.flatnonzero(_WORDS == "an")[0])


def _tokens(n_docs: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Token codes of every sentence, flattened, with their document and sentence ends."""
    n_sentences = rng.integers(2, 4, size=n_docs)
    doc_of_sentence = np.repeat(np.arange(n_docs), n_sentences)
    template = rng.integers(0, len(_TEMPLATES), size=len(doc_of_sentence))
    lengths = _TEMPLATE_LENGTHS[template]
    sentence = np.repeat(np.arange(len(template)), lengths)
    position = np.arange(len(sentence)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    codes = _TEMPLATE_CODES[template[sentence], position]
    sentence_end = position == lengths[sentence] - 1
    doc_end = np.r_[doc_of_sentence[1:] != doc_of_sentence[:-1], True][sentence] & sentence_end
    return codes, doc_of_sentence[sentence], position == 0, sentence_end, doc_end


def _fill_slots(codes: np.ndarray, doc: np.ndarray, theta: np.ndarray, rng) -> np.ndarray:
    """Replace slot codes by word ids: shared words or words of a topic drawn from theta."""
    ids = codes.copy()
    slots = np.flatnonzero(codes < 0)
    cumulative = np.cumsum(theta[doc[slots]], axis=1)
    topic = (rng.random(len(slots))[:, None] >= cumulative).sum(axis=1)
    topic = np.minimum(topic, len(TOPICS) - 1)
    topic[rng.random(len(slots)) < _SHARED_P] = len(TOPICS)  # the shared row
    u = rng.random(len(slots))
    for pos, code in _SLOTS.items():  # three parts of speech, each vectorised
        table = _SLOT_IDS[pos]
        weights = np.cumsum(1.0 / np.arange(1, table.shape[1] + 1) ** 0.7)
        rank = np.searchsorted(weights / weights[-1], u, side="right")
        mine = codes[slots] == code
        ids[slots[mine]] = table[topic[mine], np.minimum(rank[mine], table.shape[1] - 1)]
    return ids


def generate(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_rows`` documents with their dominant ``topic`` and its ``label`` code."""
    label = rng.integers(0, len(TOPICS), size=n_rows)
    alpha = np.full((n_rows, len(TOPICS)), _ALPHA_OTHER)
    alpha[np.arange(n_rows), label] = _ALPHA_DOMINANT
    theta = rng.gamma(alpha)
    theta /= theta.sum(axis=1, keepdims=True)
    codes, doc, first, sentence_end, doc_end = _tokens(n_rows, rng)
    ids = _fill_slots(codes, doc, theta, rng)
    ids = np.where((ids == _A) & _VOWEL_START[np.r_[ids[1:], ids[-1]]], _AN, ids)  # "an apple"
    pieces = np.empty(2 * len(ids), dtype=object)
    pieces[0::2] = np.where(first, _CAPITALISED[ids], _WORDS[ids])
    pieces[1::2] = np.where(doc_end, ".\n", np.where(sentence_end, ". ", " "))
    texts = "".join(pieces.tolist()).split("\n")[:-1]  # one C-level join, no per-row loop
    return pd.DataFrame(
        {
            "text": np.array(texts, dtype=object),
            "topic": np.array(TOPICS, dtype=object)[label],
            "label": label.astype(np.int64),
        }
    )
