"""SageMaker's Neural Topic Model (NTM), a variational autoencoder in MXNet Gluon.

The model follows NVDM / ProdLDA (Miao et al. 2016; Srivastava & Sutton 2017): an encoder
MLP maps a document's word counts to the mean and log-variance of a Gaussian, a sample
``z = mu + sigma * eps`` goes through a softmax to the topic mixture ``theta``, and the
decoder's topic-word matrix ``beta`` (topics x words) turns ``theta`` into word logits whose
log-softmax scores the document's words. The loss per document is the reconstruction loss
(``recons_loss``, the negative log-likelihood of its words) plus the KL divergence (``kld``)
from a logistic-normal prior: ``N(0, (1 - 1/K) I)``, the Laplace approximation of a
symmetric Dirichlet(1) over ``K`` topics. Metrics are SageMaker's ``#quality_metric`` lines,
per epoch for train and validation and once for test: ``total_loss`` (the tuning objective
``validation:total_loss``), ``recons_loss`` and ``kld``, each the mean per document.

Inputs, hyperparameters and the response ``{"predictions": [{"topic_weights": [...]}]}`` are
SageMaker's. Where workbench differs:

- the hyperparameters are SageMaker's with its defaults, including ``optimizer=adadelta``;
  MXNet 1.x's AdaDelta ignores ``learning_rate`` and starts with tiny steps, so on a CPU and
  a small corpus it can stop before the topics form: ``optimizer="adam"`` with
  ``learning_rate=0.01`` trains in seconds (SageMaker tunes both);
- the KL term's weight ramps from 0 to 1 over the first 300 mini-batches (KL warm-up, Bowman
  et al. 2016) and early stopping only counts epochs after that: topics emerge after a
  plateau during which the loss barely moves; reported losses always use the full KL;
- adam runs with ``beta1=0.99`` (MXNet's default is 0.9): Srivastava & Sutton found high
  momentum keeps topics from collapsing into duplicates, and so it does here on small corpora;
- validation and test losses use the encoder's mean (no sampling), so they do not jitter;
- training keeps the parameters of the epoch with the lowest monitored loss (validation,
  else train), and early stopping follows ``num_patience_epochs`` and ``tolerance``;
- ``batch_norm=true`` normalises the encoder's hidden layers and, as ProdLDA does, the
  decoder's word logits; topic weights at inference use the running statistics;
- the model folder holds the Gluon parameters as ``ntm-model.npz`` (plus JSON and
  ``vocab.txt``), and inference runs the encoder in NumPy: serving needs no MXNet;
- SageMaker's WETC coherence (which needs word embeddings) and RecordIO-protobuf input are
  left out; the log lists each topic's top words and their topic uniqueness instead.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import ValidationError
from ._artifacts import load_arrays, save_arrays
from ._base import Algorithm, quality_metric_line, quality_metric_regex
from ._mxnet import device, import_mxnet
from ._schema import AUTO, Hyperparameter, HyperparameterSchema
from ._text import (
    AUXILIARY_CONTENT_TYPE,
    COUNT_CONTENT_TYPES,
    TopicModelBase,
    check_count_channels,
    read_corpus,
    topic_uniqueness,
    write_vocabulary,
)

if TYPE_CHECKING:
    from ..training._environment import TrainingEnvironment

__all__ = ["NTM", "NTMModel", "MODEL_FILE", "META_FILE"]

MODEL_FILE = "ntm-model.npz"
META_FILE = "ntm-model.json"
MODEL_FORMAT = "workbench-ntm"
OPTIMIZERS = ("sgd", "adam", "adagrad", "rmsprop", "adadelta")
ACTIVATIONS = ("sigmoid", "tanh", "relu")
LOSSES = ("total_loss", "recons_loss", "kld")
_SEED = 0
_BN_EPS = 1e-5
_WARMUP_STEPS = 300  # mini-batches over which the KL term's weight ramps from 0 to 1
_ADAM_BETA1 = 0.99
_DENSE_BYTES = 256 * 2**20  # corpora smaller than this go to the device once, dense
_LOG = "[ntm]"


def _h(name: str, kind: str, default: Any, doc: str, **options: Any) -> Hyperparameter:
    """A hyperparameter; only those SageMaker lets automatic model tuning change are tunable."""
    options.setdefault("tunable", False)
    return Hyperparameter(name, kind, default, doc, **options)


# fmt: off
SCHEMA = HyperparameterSchema((
    _h("feature_dim", "int", None, "Vocabulary size: the number of word-count columns.",
       required=True, low=1, high=1_000_000),
    _h("num_topics", "int", None, "Number of topics.", required=True, low=2, high=1000),
    _h("batch_norm", "bool", False, "Batch normalisation in the encoder and of the word logits."),
    _h("clip_gradient", "float", None, "Maximum magnitude of each gradient component "
       "(default: no clipping, SageMaker's Infinity).", low=1e-3),
    _h("encoder_layers", "str", AUTO, "Comma-separated sizes of the encoder's hidden layers "
       "(auto = 3 x num_topics, 2 x num_topics)."),
    _h("encoder_layers_activation", "str", "sigmoid", "Activation of the encoder layers.",
       choices=ACTIVATIONS, tunable=True),
    _h("epochs", "int", 50, "Maximum number of passes over the training data.", low=1),
    _h("learning_rate", "float", 0.001, "Learning rate of the optimizer (AdaDelta ignores it).",
       low=1e-6, high=1.0, tunable=True),
    _h("mini_batch_size", "int", 256, "Documents per mini-batch.", low=1, high=10_000,
       tunable=True),
    _h("num_patience_epochs", "int", 3, "Epochs over which early stopping looks for progress.",
       low=1),
    _h("optimizer", "str", "adadelta", "Optimizer.", choices=OPTIMIZERS, tunable=True),
    _h("rescale_gradient", "float", 1.0, "Factor the gradient is multiplied by.",
       low=1e-3, high=1.0, tunable=True),
    _h("sub_sample", "float", 1.0, "Fraction of the training documents sampled each epoch.",
       low=0.0, high=1.0, low_open=True),
    _h("tolerance", "float", 0.001, "Relative loss improvement that counts as progress.",
       low=1e-6, high=0.1),
    _h("weight_decay", "float", 0.0, "L2 regularisation coefficient.", low=0.0, high=1.0,
       tunable=True),
))
# fmt: on


def encoder_sizes(hps: dict[str, Any]) -> list[int]:
    """Hidden layer sizes: ``encoder_layers`` or, for auto, 3 x and 2 x num_topics."""
    value = str(hps.get("encoder_layers", AUTO)).strip()
    if value.lower() == AUTO:
        return [3 * hps["num_topics"], 2 * hps["num_topics"]]
    sizes = []
    for part in value.split(","):
        try:
            size = int(part.strip())
        except ValueError:
            size = 0
        if size < 1 or str(size) != part.strip():
            raise ValidationError(
                "hyperparameters['encoder_layers']",
                hps["encoder_layers"],
                "'auto' or a comma-separated list of positive integers, e.g. '50,25'",
            )
        sizes.append(size)
    return sizes


class NTM(Algorithm):
    """SageMaker's Neural Topic Model (``algorithm="ntm"``), in MXNet Gluon.

    Example
    -------
    >>> from workbench.algorithms._text import bag_of_words
    >>> counts, vocabulary = bag_of_words(docs["text"])  # doctest: +SKIP
    >>> job = wb.Estimator(algorithm="ntm", hyperparameters={
    ...     "feature_dim": len(vocabulary), "num_topics": 6, "optimizer": "adam",
    ...     "learning_rate": 0.01}).fit({"train": counts})  # doctest: +SKIP
    >>> job.model().predict(["The striker scored a late goal."])  # doctest: +SKIP
       topic_0  topic_1  topic_2  topic_3  topic_4  topic_5
    0    0.031    0.042    0.805    0.047    0.036    0.039
    """

    name = "ntm"
    title = "Neural Topic Model"
    description = (
        "Topics of a corpus of word counts with a variational autoencoder; topic weights "
        "per document (SageMaker's NTM)."
    )
    hyperparameters = SCHEMA
    channels = ("train", "validation", "test", "auxiliary")
    required_channels = ("train",)
    content_types = (*COUNT_CONTENT_TYPES, AUXILIARY_CONTENT_TYPE)
    engine = "mxnet"
    preload = ("numpy", "pandas", "scipy.sparse", "mxnet")
    supervised = False

    def check_hyperparameters(self, hps: dict[str, Any]) -> None:
        encoder_sizes(hps)
        if hps["num_topics"] > hps["feature_dim"]:
            raise ValidationError(
                "hyperparameters['num_topics']",
                hps["num_topics"],
                f"at most feature_dim={hps['feature_dim']} topics",
            )

    def check_data(self, hps: dict[str, Any], channels: list[Any]) -> None:
        check_count_channels(hps, channels)

    def problem_type(self, hps: dict[str, Any]) -> str:
        return "topic_modeling"

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {"Name": f"{channel}:{loss}", "Regex": quality_metric_regex(channel, loss)}
            for channel in ("train", "validation", "test")
            for loss in LOSSES
        ]

    def train(self, env: TrainingEnvironment, hps: dict[str, Any]) -> None:
        started = time.perf_counter()
        corpus = read_corpus(env, hps["feature_dim"], ("train", "validation", "test"))
        train = corpus.counts["train"]
        sizes = encoder_sizes(hps)
        print(
            f"{_LOG} {train.shape[0]} documents x {train.shape[1]} words, "
            f"{hps['num_topics']} topics, encoder {sizes} ({hps['encoder_layers_activation']}), "
            f"optimizer={hps['optimizer']}, up to {hps['epochs']} epochs of mini-batches of "
            f"{hps['mini_batch_size']}",
            flush=True,
        )
        trainer = _Trainer(hps, sizes)
        trainer.fit(train, corpus.counts.get("validation"))
        arrays = trainer.export()
        model = NTMModel(arrays, _meta(hps, sizes, trainer), corpus.vocabulary)
        if "test" in corpus.counts:
            for loss, value in trainer.evaluate(corpus.counts["test"]).items():
                print(quality_metric_line("test", loss, value), flush=True)
        for i, words in enumerate(model.topics(10)):
            print(f"{_LOG} topic {i}: {' '.join(words)}", flush=True)
        print(f"{_LOG} topic uniqueness (top 10 words): {topic_uniqueness(model.topic_word):.4f}")
        model.save(env.model_dir)
        print(f"{_LOG} done in {time.perf_counter() - started:.2f}s", flush=True)

    def load(self, model_dir: Path) -> NTMModel:
        return NTMModel.load(Path(model_dir))


def _meta(hps: dict[str, Any], sizes: list[int], trainer: _Trainer) -> dict[str, Any]:
    return {
        "format": MODEL_FORMAT,
        "format_version": 1,
        "problem_type": "topic_modeling",
        "feature_dim": hps["feature_dim"],
        "num_topics": hps["num_topics"],
        "encoder_layers": sizes,
        "activation": hps["encoder_layers_activation"],
        "batch_norm": hps["batch_norm"],
        "epochs_trained": trainer.epochs_run,
        "best_epoch": trainer.best_epoch,
    }


class _Trainer:
    """Builds the Gluon network and runs the epochs (imports MXNet)."""

    def __init__(self, hps: dict[str, Any], sizes: list[int]) -> None:
        mx = import_mxnet()

        self.hps = hps
        self.k = hps["num_topics"]
        self.ctx = device(mx)
        mx.random.seed(_SEED)
        self.rng = np.random.default_rng(_SEED)
        self.net = _build_net(hps, sizes)
        self.net.initialize(mx.init.Xavier(), ctx=self.ctx)
        self.net.hybridize(static_alloc=True)
        self.epochs_run = 0
        self.best_epoch = 0
        self._dense: dict[int, Any] = {}

    def _batches(self, counts: Any, order: np.ndarray):  # type: ignore[no-untyped-def]
        """Mini-batches as device arrays: sliced on the device when the corpus fits."""
        from mxnet import nd

        size = self.hps["mini_batch_size"]
        dense = self._device_copy(counts)
        if dense is not None:
            index = nd.array(order, ctx=self.ctx, dtype="int64")
            for start in range(0, len(order), size):
                yield nd.take(dense, index[start : start + size])
        else:
            for start in range(0, len(order), size):
                rows = counts[order[start : start + size]]
                yield nd.array(rows.toarray(), ctx=self.ctx, dtype="float32")

    def _device_copy(self, counts: Any) -> Any:
        """The corpus as one dense device array, if it is small enough (cached)."""
        from mxnet import nd

        key = id(counts)
        if key not in self._dense:
            fits = counts.shape[0] * counts.shape[1] * 4 <= _DENSE_BYTES
            self._dense[key] = (
                nd.array(counts.toarray(), ctx=self.ctx, dtype="float32") if fits else None
            )
        return self._dense[key]

    def fit(self, train: Any, validation: Any | None) -> None:
        from mxnet import autograd, gluon, nd

        hps = self.hps
        params = {
            "learning_rate": hps["learning_rate"],
            "wd": hps["weight_decay"],
            "rescale_grad": hps["rescale_gradient"],
        }
        if hps["optimizer"] == "adam":  # high momentum against component collapse (ProdLDA)
            params["beta1"] = _ADAM_BETA1
        clip = hps.get("clip_gradient")
        if clip is not None and math.isfinite(clip):
            params["clip_gradient"] = clip
        trainer = gluon.Trainer(self.net.collect_params(), hps["optimizer"], params)
        n_docs = train.shape[0]
        n_epoch = max(1, int(math.ceil(hps["sub_sample"] * n_docs)))
        monitor = "validation" if validation is not None else "train"
        best, best_params, stale = math.inf, None, 0
        step = 0
        for epoch in range(1, hps["epochs"] + 1):
            order = self.rng.permutation(n_docs)[:n_epoch]
            recons = nd.zeros(1, ctx=self.ctx)
            kld = nd.zeros(1, ctx=self.ctx)
            for batch in self._batches(train, order):
                eps = nd.random.normal(shape=(batch.shape[0], self.k), ctx=self.ctx)
                warm = min(1.0, step / _WARMUP_STEPS)
                step += 1
                with autograd.record():
                    rec, kl = self.net(batch, eps)
                    loss = rec + warm * kl
                loss.backward()
                trainer.step(batch.shape[0])
                recons += rec.sum()
                kld += kl.sum()
            r, kl_mean = float(recons.asscalar()) / n_epoch, float(kld.asscalar()) / n_epoch
            losses = {"train": {"total_loss": r + kl_mean, "recons_loss": r, "kld": kl_mean}}
            if not math.isfinite(r + kl_mean):
                raise FloatingPointError(
                    f"NTM loss became {r + kl_mean} at epoch {epoch}; lower learning_rate or "
                    "set clip_gradient"
                )
            if validation is not None:
                losses["validation"] = self.evaluate(validation)
            for channel, values in losses.items():
                for name, value in values.items():
                    print(quality_metric_line(channel, name, value, epoch=epoch), flush=True)
            self.epochs_run = epoch
            current = losses[monitor]["total_loss"]
            if current < best:
                improved = best == math.inf or (best - current) / abs(best) > hps["tolerance"]
                best, self.best_epoch = current, epoch
                best_params = {
                    name: p.data().copy() for name, p in self.net.collect_params().items()
                }
                stale = 0 if improved else stale + 1
            else:
                stale += 1
            if step < _WARMUP_STEPS:  # topics emerge after a plateau: no early stopping yet
                stale = 0
            if stale >= hps["num_patience_epochs"] and epoch < hps["epochs"]:
                print(
                    f"{_LOG} early stopping at epoch {epoch}: {monitor} total_loss improved by "
                    f"less than tolerance={hps['tolerance']} for {stale} epochs",
                    flush=True,
                )
                break
        if best_params is not None:
            for name, p in self.net.collect_params().items():
                p.set_data(best_params[name])
            print(f"{_LOG} kept epoch {self.best_epoch} ({monitor} total_loss={best:.6g})")

    def evaluate(self, counts: Any) -> dict[str, float]:
        """Mean losses per document, with z at the encoder's mean (no sampling)."""
        from mxnet import autograd, nd

        rec_sum = nd.zeros(1, ctx=self.ctx)
        kl_sum = nd.zeros(1, ctx=self.ctx)
        order = np.arange(counts.shape[0])
        with autograd.predict_mode():
            for batch in self._batches(counts, order):
                eps = nd.zeros((batch.shape[0], self.k), ctx=self.ctx)
                rec, kl = self.net(batch, eps)
                rec_sum += rec.sum()
                kl_sum += kl.sum()
        rec_total, kl_total = float(rec_sum.asscalar()), float(kl_sum.asscalar())
        n = counts.shape[0]
        return {
            "total_loss": (rec_total + kl_total) / n,
            "recons_loss": rec_total / n,
            "kld": kl_total / n,
        }

    def export(self) -> dict[str, np.ndarray]:
        """The network's parameters as NumPy arrays with stable names."""
        net = self.net
        out: dict[str, np.ndarray] = {}
        for i, layer in enumerate(net.hidden):
            out[f"encoder_{i}_weight"] = layer.weight.data().asnumpy()
            out[f"encoder_{i}_bias"] = layer.bias.data().asnumpy()
        for i, bn in enumerate(net.norms):
            out[f"encoder_{i}_bn_gamma"] = bn.gamma.data().asnumpy()
            out[f"encoder_{i}_bn_beta"] = bn.beta.data().asnumpy()
            out[f"encoder_{i}_bn_mean"] = bn.running_mean.data().asnumpy()
            out[f"encoder_{i}_bn_var"] = bn.running_var.data().asnumpy()
        out["mu_weight"] = net.mu.weight.data().asnumpy()
        out["mu_bias"] = net.mu.bias.data().asnumpy()
        out["logvar_weight"] = net.logvar.weight.data().asnumpy()
        out["logvar_bias"] = net.logvar.bias.data().asnumpy()
        out["beta"] = net.decoder.weight.data().asnumpy().T  # topics x words
        out["word_bias"] = net.decoder.bias.data().asnumpy()
        return {k: v.astype(np.float32) for k, v in out.items()}


def _build_net(hps: dict[str, Any], sizes: list[int]) -> Any:
    """The NTM as a Gluon HybridBlock: (counts, eps) -> (recons_loss, kld) per document."""
    from mxnet import gluon

    k = hps["num_topics"]
    vocab = hps["feature_dim"]
    activation = hps["encoder_layers_activation"]
    batch_norm = hps["batch_norm"]
    prior_var = 1.0 - 1.0 / k  # Laplace approximation of a symmetric Dirichlet(1)

    class NTMNet(gluon.HybridBlock):
        def __init__(self) -> None:
            super().__init__()
            with self.name_scope():
                self.hidden = [gluon.nn.Dense(size, flatten=False) for size in sizes]
                self.norms = (
                    [gluon.nn.BatchNorm(epsilon=_BN_EPS) for _ in sizes] if batch_norm else []
                )
                for i, layer in enumerate(self.hidden):
                    self.register_child(layer, f"hidden{i}")
                for i, norm in enumerate(self.norms):
                    self.register_child(norm, f"norm{i}")
                self.mu = gluon.nn.Dense(k)
                self.logvar = gluon.nn.Dense(k)
                self.decoder = gluon.nn.Dense(vocab)
                self.word_norm = (
                    gluon.nn.BatchNorm(center=False, scale=False, epsilon=_BN_EPS)
                    if batch_norm
                    else None
                )

        def hybrid_forward(self, F, x, eps):  # type: ignore[no-untyped-def] # noqa: N803
            h = x
            for i, layer in enumerate(self.hidden):
                h = layer(h)
                if self.norms:
                    h = self.norms[i](h)
                h = F.Activation(h, act_type=activation)
            mu = self.mu(h)
            logvar = self.logvar(h)
            z = mu + F.exp(0.5 * logvar) * eps
            theta = F.softmax(z)
            logits = self.decoder(theta)
            if self.word_norm is not None:
                logits = self.word_norm(logits)
            recons = -F.sum(x * F.log_softmax(logits), axis=1)
            kld = 0.5 * F.sum(
                (F.exp(logvar) + F.square(mu)) / prior_var - 1.0 - logvar + math.log(prior_var),
                axis=1,
            )
            return recons, kld

    return NTMNet()


class NTMModel(TopicModelBase):
    """A trained NTM: topic weights of documents, in NumPy.

    ``topic_word`` (topics x words) holds the decoder's weights: a word's weight in a topic
    relative to the corpus-wide word bias, so the top words of a topic are its typical
    words rather than the corpus' most frequent ones.
    """

    def __init__(
        self, arrays: dict[str, np.ndarray], meta: dict[str, Any], vocabulary: list[str] | None
    ) -> None:
        self.arrays = arrays
        self.meta = meta
        self.feature_dim: int = int(meta["feature_dim"])
        self.num_topics: int = int(meta["num_topics"])
        self.vocabulary = list(vocabulary) if vocabulary else None
        self.topic_word = np.asarray(arrays["beta"], dtype=np.float64)
        self.activation: str = meta["activation"]
        self.batch_norm: bool = bool(meta["batch_norm"])

    @classmethod
    def load(cls, model_dir: Path) -> NTMModel:
        from ._text import VOCAB_FILE, read_vocabulary

        model_dir = Path(model_dir)
        arrays, meta = load_arrays(model_dir, MODEL_FILE, META_FILE, MODEL_FORMAT)
        vocabulary = None
        if (model_dir / VOCAB_FILE).exists():
            vocabulary = read_vocabulary(model_dir, meta["feature_dim"])
        return cls(arrays, meta, vocabulary)

    def save(self, model_dir: Path) -> None:
        """Write ``ntm-model.npz``, ``ntm-model.json`` and ``vocab.txt`` (if known)."""
        model_dir = Path(model_dir)
        save_arrays(model_dir, MODEL_FILE, META_FILE, self.arrays, self.meta)
        if self.vocabulary:
            write_vocabulary(model_dir, self.vocabulary)

    def transform(self, counts: Any) -> np.ndarray:
        """Topic weights ``(n, num_topics)``: the softmax of the encoder's mean."""
        a = self.arrays
        h = counts
        for i in range(len(self.meta["encoder_layers"])):
            h = np.asarray(h @ a[f"encoder_{i}_weight"].T.astype(np.float64))
            h = h + a[f"encoder_{i}_bias"]
            if self.batch_norm:
                scale = a[f"encoder_{i}_bn_gamma"] / np.sqrt(a[f"encoder_{i}_bn_var"] + _BN_EPS)
                h = (h - a[f"encoder_{i}_bn_mean"]) * scale + a[f"encoder_{i}_bn_beta"]
            h = _activate(h, self.activation)
        mu = h @ a["mu_weight"].T.astype(np.float64) + a["mu_bias"]
        mu = mu - mu.max(axis=1, keepdims=True)
        weights = np.exp(mu)
        return weights / weights.sum(axis=1, keepdims=True)

    def response_columns(self, counts: Any) -> dict[str, np.ndarray]:
        """SageMaker NTM's answer, as columns: ``topic_weights`` (records x topics)."""
        return {"topic_weights": self.transform(counts)}


def _activate(h: np.ndarray, activation: str) -> np.ndarray:
    if activation == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * h))
    if activation == "tanh":
        return np.tanh(h)
    return np.maximum(h, 0.0)
