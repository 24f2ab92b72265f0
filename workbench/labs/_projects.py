"""The workshop's sample projects (tracks) and the problem-statement template of Day 1.

Each :class:`Project` names its dataset, target, kind of learning, the built-in algorithms
its labs use, the metric and baseline it is judged by, its labs per day, and a pre-filled
problem statement: *what* is the problem, *why* does it matter, *how* would ML help, data
sources, easy inputs, and bias and risks. Teams copy it into a :class:`ProblemStatement` and
make it their own (``labs/day1_intro/03_define_problem.ipynb``).

Example
-------
>>> from workbench.labs import PROJECTS, get_project
>>> list(PROJECTS)
['fraud', 'maintenance', 'recommendation', 'forecasting', 'topics', 'images']
>>> get_project("forecasting").labs_for(2)
('day2/03_forecasting_model',)
>>> get_project("fraud").problem_statement().check().success_metric[:6]
'PR AUC'
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..exceptions import ValidationError

if TYPE_CHECKING:  # pandas stays out of ``import workbench``
    import pandas as pd

__all__ = ["PROJECTS", "SECTIONS", "ProblemStatement", "Project", "get_project"]

# (field, heading, what the answer should say): the template, in the order of the write-up.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("what", "1. What is the problem?",
     "The decision to make, for whom and how often, in one or two sentences. Start simple."),
    ("why", "2. Why does it need to be solved?",
     "The business value: who benefits, what the problem costs today, the existing process."),
    ("how", "3. How would ML help?",
     "The kind of learning, what the model predicts, and how the prediction is used."),
    ("success_metric", "Success metric",
     "One number measured on held-out data, and the value that would make it worth deploying."),
    ("baseline", "Baseline",
     "What you get without ML (a rule, an average, today's process): the model must beat it."),
    ("data_sources", "Data sources",
     "Where the data comes from, how much there is, and where the outcomes (labels) come from."),
    ("easy_inputs", "Easy inputs",
     "What is cheap to get first: inputs already collected and known at prediction time."),
    ("bias_and_risks", "Bias and risks",
     "Who is missing from the data, leakage, feedback loops, and the cost of each kind of error."),
)  # fmt: skip
_LIST_FIELDS = ("data_sources", "easy_inputs", "bias_and_risks")


@dataclass
class ProblemStatement:
    """A team's answers to the problem-statement template (Day 1: define the problem).

    ``check()`` refuses an empty section; ``to_markdown()`` renders the write-up and
    ``save(path)`` writes it.

    Example
    -------
    >>> s = ProblemStatement(
    ...     what="Block fraudulent card payments.", why="Fraud costs money and trust.",
    ...     how="Supervised classification.", success_metric="PR AUC",
    ...     baseline="constant score: PR AUC = fraud rate", data_sources=["transactions"],
    ...     easy_inputs=["amount"], bias_and_risks=["fraud is rare"], team="Team A")
    >>> s.check().to_markdown().splitlines()[0]
    '# Problem statement · Team A'
    """

    what: str
    why: str
    how: str
    success_metric: str
    baseline: str
    data_sources: list[str]
    easy_inputs: list[str]
    bias_and_risks: list[str]
    team: str = ""
    title: str = ""

    def check(self) -> ProblemStatement:
        """Return ``self`` if every section is answered, else ValidationError naming the field.

        Example
        -------
        >>> ProblemStatement("x", "", "x", "x", "x", ["x"], ["x"], ["x"]).check()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        workbench.exceptions.ValidationError: why: got ''; expected a non-empty answer: ...
        """
        for name, _, prompt in SECTIONS:
            value = getattr(self, name)
            if name in _LIST_FIELDS:
                _check_list(name, value, prompt)
            elif not isinstance(value, str) or not value.strip():
                raise ValidationError(name, value, f"a non-empty answer: {prompt}")
        for name in ("team", "title"):
            if not isinstance(getattr(self, name), str):
                raise ValidationError(name, getattr(self, name), "a string")
        return self

    def to_markdown(self, evidence: Mapping[str, Any] | None = None) -> str:
        """The write-up: one section per template heading, plus an evidence table if given.

        ``evidence`` maps a measure (e.g. ``"fraud rate"``) to its value from the data.
        Unanswered sections show as *(not answered yet)*.

        Example
        -------
        >>> md = get_project("images").problem_statement().to_markdown({"rows": 500})
        >>> "## Evidence from the data" in md and "| rows | 500 |" in md
        True
        """
        heading = "# Problem statement"
        heading += f" · {self.title}" if self.title else ""
        heading += f" · {self.team}" if self.team else ""
        lines = [heading, ""]
        for name, title, _ in SECTIONS:
            lines += [f"## {title}", ""]
            value = getattr(self, name)
            if name in _LIST_FIELDS:
                items = [str(v).strip() for v in (value or []) if str(v).strip()]
                lines += [f"- {item}" for item in items] or ["*(not answered yet)*"]
            else:
                lines.append(str(value).strip() if value and str(value).strip() else
                             "*(not answered yet)*")  # fmt: skip
            lines.append("")
        if evidence:
            lines += ["## Evidence from the data", "", "| measure | value |", "| --- | --- |"]
            lines += [f"| {key} | {_fmt(value)} |" for key, value in evidence.items()]
            lines.append("")
        return "\n".join(lines)

    def save(self, path: str | os.PathLike[str], evidence: Mapping[str, Any] | None = None) -> Path:
        """Write ``to_markdown(evidence)`` to ``path`` (folders created) and return the path.

        Example
        -------
        >>> statement.save("runs/day1/problem_statement_fraud.md")   # doctest: +SKIP
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_markdown(evidence), encoding="utf-8")
        return target

    @staticmethod
    def template() -> str:
        """The blank template as markdown: each heading with what its answer should say.

        Example
        -------
        >>> ProblemStatement.template().splitlines()[2]
        '## 1. What is the problem?'
        """
        lines = ["# Problem statement (template)", ""]
        for _, title, prompt in SECTIONS:
            lines += [f"## {title}", "", f"*{prompt}*", ""]
        return "\n".join(lines)


@dataclass(frozen=True)
class Project:
    """One sample project (a track of the workshop).

    ``target`` is the label column: for unsupervised tracks (maintenance, topics) it is kept
    back from the model and used only to evaluate it. ``fast_load`` / ``full_load`` are the
    keyword arguments of ``wb.datasets.load`` for ``FAST=True`` / ``False``. ``labs`` are the
    track's own labs in workshop order (every track also runs the common Day 1 labs).

    Example
    -------
    >>> p = get_project("maintenance")
    >>> p.learning, p.algorithms
    ('unsupervised', ('randomcutforest', 'xgboost'))
    """

    key: str
    title: str
    summary: str
    dataset: str
    target: str | None
    learning: str  # "supervised" or "unsupervised" (reinforcement: none of the samples)
    kind: str
    algorithms: tuple[str, ...]
    metric: str
    baseline: str
    labs: tuple[str, ...]
    what: str
    why: str
    how: str
    data_sources: tuple[str, ...]
    easy_inputs: tuple[str, ...]
    bias_and_risks: tuple[str, ...]
    fast_load: Mapping[str, Any] = field(default_factory=lambda: _frozen(size="small"), hash=False)
    full_load: Mapping[str, Any] = field(default_factory=lambda: _frozen(size="medium"), hash=False)

    def labs_for(self, day: int) -> tuple[str, ...]:
        """The track's labs on ``day`` (1, 2 or 3).

        Example
        -------
        >>> get_project("fraud").labs_for(3)
        ('day3/01_moving_to_production',)
        """
        if day not in (1, 2, 3):
            raise ValidationError("day", day, "1, 2 or 3")
        return tuple(lab for lab in self.labs if lab.startswith(f"day{day}/"))

    def load(self, fast: bool = True, seed: int = 0) -> pd.DataFrame:
        """The project's dataset: ``wb.datasets.load(dataset, **fast_load, seed=seed)``.

        Example
        -------
        >>> get_project("fraud").load().shape
        (5000, 13)
        """
        from .. import datasets

        return datasets.load(
            self.dataset, **(self.fast_load if fast else self.full_load), seed=seed
        )

    def problem_statement(self, team: str = "") -> ProblemStatement:
        """The pre-filled problem statement of this project (a copy to edit).

        Example
        -------
        >>> get_project("topics").problem_statement(team="Team B").team
        'Team B'
        """
        return ProblemStatement(
            what=self.what,
            why=self.why,
            how=self.how,
            success_metric=self.metric,
            baseline=self.baseline,
            data_sources=list(self.data_sources),
            easy_inputs=list(self.easy_inputs),
            bias_and_risks=list(self.bias_and_risks),
            team=team,
            title=self.title,
        )

    def as_row(self) -> dict[str, Any]:
        """A flat summary (for a table of the catalogue).

        Example
        -------
        >>> get_project("images").as_row()["dataset"]
        'digits'
        """
        return {
            "project": self.key,
            "title": self.title,
            "learning": self.learning,
            "kind": self.kind,
            "algorithms": ", ".join(self.algorithms),
            "dataset": self.dataset,
            "target": self.target,
            "labs": ", ".join(self.labs),
        }


def get_project(key: str) -> Project:
    """The sample project ``key``; ValidationError listing the projects if unknown.

    Example
    -------
    >>> get_project("fraud").title
    'Banking fraud'
    """
    name = key.strip().lower() if isinstance(key, str) else None
    if name not in PROJECTS:
        raise ValidationError("PROJECT", key, "one of " + ", ".join(PROJECTS))
    return PROJECTS[name]


def _check_list(name: str, value: Any, prompt: str) -> None:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationError(name, value, f"a list of answers: {prompt}")
    if not any(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError(name, value, f"at least one non-empty answer: {prompt}")
    for i, v in enumerate(value):
        if not isinstance(v, str) or not v.strip():
            raise ValidationError(f"{name}[{i}]", v, "a non-empty string")


def _frozen(**kwargs: Any) -> Mapping[str, Any]:
    return MappingProxyType(kwargs)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value).replace("|", "\\|")


def _model_lab(n: int, key: str) -> tuple[str, str]:
    return (f"day2/{n:02d}_{key}_model", f"day3/{n:02d}_{key}_in_production")


PROJECTS: dict[str, Project] = {
    p.key: p
    for p in (
        Project(
            key="fraud",
            title="Banking fraud",
            summary="Flag fraudulent card transactions as they happen.",
            dataset="fraud",
            target="is_fraud",
            learning="supervised",
            kind="supervised classification",
            algorithms=("xgboost", "linear-learner"),
            metric="PR AUC (area under the precision-recall curve) on held-out transactions, "
            "with ROC AUC alongside",
            baseline="a constant score (no model): PR AUC = the fraud rate, ROC AUC = 0.5; "
            "'never fraud' is about 98% accurate, which is why accuracy misleads",
            labs=(
                "day1/01_intro_fraud",
                "day2/01_features_evaluation",
                "day2/02_tuning",
                "day3/01_moving_to_production",
            ),
            what="Decide, for each card transaction as it arrives, whether to block it (or "
            "send it for review) as fraud.",
            why="Missed fraud costs the bank the amount and the customer's trust; false alarms "
            "block good customers and cost call-centre time. Today's fixed rules catch some "
            "fraud and stop many good payments.",
            how="Supervised binary classification on past transactions labelled fraud or not "
            "(from chargebacks): the model scores each new transaction, and a threshold chosen "
            "from the cost of a missed fraud against a false alarm turns the score into "
            "block or allow.",
            data_sources=(
                "card transactions from the payment switch: amount, time, merchant, place",
                "customer accounts: account age, usual spending",
                "fraud labels from chargebacks and customer reports, weeks later",
            ),
            easy_inputs=(
                "amount, hour, day of week and merchant category: in every transaction",
                "card-present, online and PIN flags from the terminal",
                "distances from home and from the last transaction, transactions in the "
                "last 24 hours: simple aggregates of the card's history",
            ),
            bias_and_risks=(
                "fraud is rare (about 1.5%): accuracy misleads; use stratified splits and PR AUC",
                "labels arrive late and only for disputed payments: unreported fraud looks "
                "legitimate",
                "blocks may fall unevenly on some customers (travellers, new accounts): "
                "compare error rates per group",
                "anything known only after the transaction (a chargeback) leaks the answer",
            ),
        ),
        Project(
            key="maintenance",
            title="Predictive maintenance",
            summary="Find the machines likely to fail within a week from daily sensor readings.",
            dataset="maintenance",
            target="failure_within_7d",
            learning="unsupervised",
            kind="unsupervised anomaly detection",
            algorithms=("randomcutforest", "xgboost"),
            metric="ROC AUC of the daily ranking against failures within 7 days, and precision "
            "among the top-k readings the team can inspect",
            baseline="the largest absolute z-score of a reading over the five sensors "
            "(no training)",
            labs=(
                "day2/01_features_evaluation",
                "day2/01_maintenance_model",
                "day3/01_maintenance_in_production",
            ),
            what="Each day, rank the machines by how likely they are to fail within the next "
            "7 days, so that the maintenance team inspects the riskiest first.",
            why="An unplanned failure stops the line and costs repairs and lost output; "
            "servicing at fixed intervals replaces parts that were still fine. Maintenance at "
            "the right time saves both.",
            how="Learn what normal readings look like without labels (Random Cut Forest "
            "anomaly scores) and, where past failures are recorded, a supervised classifier "
            "(XGBoost) on the same sensors; scores above a threshold open an inspection "
            "work order.",
            data_sources=(
                "daily sensor readings per machine: temperature, vibration, pressure, rpm, torque",
                "the asset register: machine type, age in cycles, tool wear",
                "the maintenance log: dates of failures and repairs (the labels)",
            ),
            easy_inputs=(
                "the latest sensor readings, already collected by the machines",
                "machine type and age from the asset register",
                "tool wear minutes since the last reset",
            ),
            bias_and_risks=(
                "failures are rare (about 5% of readings precede one): imbalance",
                "readings of one machine are alike: split by machine, or the model "
                "memorises machines",
                "sensors drift or break, and a broken sensor looks like an anomaly",
                "machines serviced early never show the failure they would have had "
                "(censored outcomes)",
            ),
        ),
        Project(
            key="recommendation",
            title="Recommendation",
            summary="Recommend the items a user is likely to rate highly.",
            dataset="ratings",
            target="rating",
            learning="supervised",
            kind="recommendation (supervised regression on user-item pairs: collaborative "
            "filtering)",
            algorithms=("factorization-machines",),
            metric="RMSE of the predicted ratings on held-out ratings, and the hit rate of "
            "each user's top-10 list",
            baseline="popularity: every item's mean rating (shrunk towards the global mean), "
            "the same for every user",
            labs=_model_lab(2, "recommendation"),
            what="Choose, for each user, the few items to show next from a catalogue they "
            "have mostly never rated.",
            why="Good recommendations raise engagement and sales and help users find long-tail "
            "items; a fixed best-seller list shows everyone the same few items.",
            how="Collaborative filtering: predict the rating a user would give each unrated "
            "item from the ratings of similar users and items (Factorization Machines on "
            "one-hot users and items), and show the highest.",
            data_sources=(
                "explicit ratings (1-5 stars) with user, item and time",
                "the item catalogue: genre, price, availability",
                "implicit signals: views, clicks, purchases",
            ),
            easy_inputs=(
                "the user id and item id of each rating: enough for collaborative filtering",
                "rating timestamps, to split by time as the future will come",
            ),
            bias_and_risks=(
                "popularity bias: popular items collect most ratings and get recommended "
                "more (a feedback loop)",
                "cold start: new users and new items have no ratings",
                "users rate what they chose to see, so missing ratings are not random",
                "the matrix is sparse: most users rated a handful of items",
            ),
        ),
        Project(
            key="forecasting",
            title="Forecasting",
            summary="Forecast each store's daily sales for the next two weeks.",
            dataset="timeseries",
            target="value",
            learning="supervised",
            kind="supervised regression / forecasting",
            algorithms=("forecasting-deepar",),
            metric="weighted absolute percentage error (WAPE: the median's weighted quantile "
            "loss) over the next 14 days, and the quantile loss of the 10%-90% band",
            baseline="seasonal naive: the same weekday of the last week, repeated",
            labs=_model_lab(3, "forecasting"),
            what="Forecast each store's daily sales for the next 14 days as a range (10%, 50%, "
            "90%), to plan staff and stock.",
            why="Too little stock loses sales, too much ties up money and spoils; rotas are "
            "set two weeks ahead. Planners today copy last year's numbers by hand.",
            how="Supervised regression over time: learn from every store's history at once "
            "(DeepAR), with planned promotions as inputs known in advance; the forecast "
            "bands feed ordering and rotas.",
            data_sources=(
                "daily sales per store from the tills",
                "the promotion calendar (planned, so known in advance)",
                "weather, holidays and local events",
            ),
            easy_inputs=(
                "past daily sales of each store",
                "promotion flags for the forecast days",
                "the calendar: weekday, month, holidays",
            ),
            bias_and_risks=(
                "sales are capped by stock: a sold-out day under-records demand",
                "a random split leaks the future: hold out the last weeks",
                "new stores have little history (cold start)",
                "one-off events (closures, a pandemic) break the pattern",
            ),
        ),
        Project(
            key="topics",
            title="Topic modelling",
            summary="Discover the themes of a collection of short news texts without labels.",
            dataset="text",
            target="topic",
            learning="unsupervised",
            kind="unsupervised topic modelling",
            algorithms=("ntm", "lda"),
            metric="topic coherence (NPMI of each topic's top words) and, on a labelled "
            "sample, topic purity",
            baseline="one topic for everything: purity = the share of the most common true topic",
            labs=_model_lab(4, "topics"),
            what="Group thousands of unlabelled short texts by theme, so that editors can "
            "route, tag and search them.",
            why="Reading and tagging every text by hand does not scale; topics summarise a "
            "collection and give features for search and recommendation.",
            how="Unsupervised learning: a topic model (Neural Topic Model, LDA) learns topics "
            "as distributions over words, and each text as a mixture of topics, from word "
            "counts alone; people name the topics afterwards.",
            data_sources=(
                "the texts: news snippets, support tickets, reviews",
                "a vocabulary built from them (bag of words)",
                "a small labelled sample to judge the topics (optional)",
            ),
            easy_inputs=(
                "word counts per text, without stop words",
                "text length and source",
            ),
            bias_and_risks=(
                "the number of topics is a choice, not a fact: try several",
                "topics mirror the collection: rare subjects merge or vanish",
                "frequent words dominate the topics unless stop words are removed",
                "topic names are given by people and can mislead",
            ),
        ),
        Project(
            key="images",
            title="Images",
            summary="Recognise handwritten digits from their pixels (a computer-vision warm-up).",
            dataset="digits",
            target="label",
            learning="supervised",
            kind="supervised image classification",
            algorithms=("image-classification",),
            metric="accuracy on held-out images, with the confusion matrix and top-3 accuracy",
            baseline="the most common digit for every image (about 10% accuracy); logistic "
            "regression on the raw pixels is the stronger baseline of the lab",
            labs=_model_lab(5, "images"),
            what="Read the handwritten digit in a scanned 8x8 image, as on forms and envelopes.",
            why="Typing digits from forms by hand is slow and error-prone; reading them "
            "automatically speeds processing and leaves only unclear cases to people.",
            how="Supervised image classification: a convolutional network (ResNet, the "
            "Image Classification built-in algorithm) trained on labelled images; "
            "low-confidence predictions go to a person.",
            data_sources=(
                "scanned images of handwritten digits",
                "labels from people (a labelling job, as in the Day 1 labelling lab)",
            ),
            easy_inputs=(
                "the raw pixels, scaled to 0-1",
                "one folder of images per class",
            ),
            bias_and_risks=(
                "the writers in the training data may not represent all writers (age, "
                "script, pens)",
                "some digits look alike (1 and 7; 3, 8 and 9): errors are not uniform",
                "labels given by people contain mistakes: check them (confident learning)",
            ),
        ),
    )
}
