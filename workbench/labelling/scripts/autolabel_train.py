"""Automated-labelling training script (script mode): cross-fitted classifier + pool scores.

Channels (SageMaker's ``SM_CHANNEL_*``): ``train`` holds ``X.npy`` or ``X.npz`` (SciPy
sparse) and ``y.npy`` (class indices); ``pool`` (optional) holds the unlabelled items'
``X``. The script writes out-of-fold class probabilities of every training row
(``oof_proba.npy``: each row predicted by a model that did not see it, for calibrating the
confidence threshold and for confident learning), the probabilities of the pool rows by the
model trained on all rows (``pool_proba.npy``) and the class indices (``classes.npy``) to
``SM_OUTPUT_DATA_DIR``, and that model to ``SM_MODEL_DIR/model.joblib``.
"""

import argparse
import json
import os
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def load(folder):
    folder = Path(folder)
    if (folder / "X.npz").exists():
        from scipy import sparse

        return sparse.load_npz(folder / "X.npz").tocsr()
    return np.load(folder / "X.npy")


def make_model(name, c, seed):
    if name == "svc":  # RBF SVM with Platt-scaled probabilities: strong on small image sets
        return SVC(C=c, gamma="scale", probability=True, random_state=seed)
    if name == "logistic":  # linear, sparse-friendly: the text model
        return LogisticRegression(C=c, max_iter=3000)
    if name == "logistic-scaled":
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))
    if name == "hist-gradient-boosting":  # tabular records, missing values allowed
        return HistGradientBoostingClassifier(max_iter=200, random_state=seed)
    raise SystemExit(
        f"model: got {name!r}; expected svc, logistic, logistic-scaled or hist-gradient-boosting"
    )


def full_proba(model, X, n_classes):
    """Probabilities over all classes 0..K-1 (a fold may miss a rare class)."""
    out = np.zeros((X.shape[0], n_classes))
    out[:, model.classes_] = model.predict_proba(X)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="svc")
    parser.add_argument("--c", type=float, default=10.0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n_classes", type=int, required=True)
    args, _ = parser.parse_known_args()

    X = load(os.environ["SM_CHANNEL_TRAIN"])
    y = np.load(Path(os.environ["SM_CHANNEL_TRAIN"]) / "y.npy")
    base = make_model(args.model, args.c, args.seed)
    k = args.n_classes
    counts = np.bincount(y, minlength=k)
    folds = max(2, min(args.folds, int(counts[counts > 0].min())))
    oof = np.zeros((len(y), k))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=args.seed)
    for number, (fit_rows, held_rows) in enumerate(splitter.split(np.zeros(len(y)), y)):
        model = clone(base).fit(X[fit_rows], y[fit_rows])
        oof[held_rows] = full_proba(model, X[held_rows], k)
        print(f"fold {number + 1}/{folds} trained on {len(fit_rows)} rows", flush=True)
    accuracy = float((oof.argmax(axis=1) == y).mean())
    print(f"validation:accuracy={accuracy:.6f}", flush=True)

    final = clone(base).fit(X, y)
    out = Path(os.environ["SM_OUTPUT_DATA_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "oof_proba.npy", oof)
    np.save(out / "classes.npy", np.arange(k))
    pool_dir = os.environ.get("SM_CHANNEL_POOL")
    if pool_dir and any(Path(pool_dir).iterdir()):
        np.save(out / "pool_proba.npy", full_proba(final, load(pool_dir), k))
    model_dir = Path(os.environ["SM_MODEL_DIR"])
    joblib.dump(final, model_dir / "model.joblib")
    (model_dir / "model.json").write_text(json.dumps({"model": args.model, "classes": k}))


if __name__ == "__main__":
    main()
