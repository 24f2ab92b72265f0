"""A SageMaker-style scikit-learn training script (runs unmodified on SageMaker too).

Hyperparameters arrive as command-line arguments, data in SM_CHANNEL_TRAIN (and
SM_CHANNEL_VALIDATION), and the model goes to SM_MODEL_DIR. ``model_fn`` is SageMaker's
inference hook: it loads the model for predictions.
"""

import argparse
import glob
import os

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score


def read_channel(path):
    files = sorted(glob.glob(os.path.join(path, "*.csv")))
    if not files:
        raise ValueError(f"No CSV files in {path}")
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(input_data, model):
    if isinstance(input_data, pd.DataFrame):
        input_data = input_data[model.feature_names_in_]
    return model.predict(input_data)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n_estimators", type=int, default=100)
    parser.add_argument("--max_depth", type=int, default=None)
    parser.add_argument("--min_samples_leaf", type=int, default=1)
    parser.add_argument("--target", type=str, default="label")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    args, _ = parser.parse_known_args()

    train = read_channel(args.train)
    if args.target not in train.columns:
        raise ValueError(f"Target column {args.target!r} not in {list(train.columns)}")
    X, y = train.drop(columns=[args.target]), train[args.target]
    model = RandomForestClassifier(
        n_estimators=args.n_estimators,
        max_depth=args.max_depth,
        min_samples_leaf=args.min_samples_leaf,
        n_jobs=int(os.environ.get("SM_NUM_CPUS", "1")),
        random_state=0,
    )
    model.fit(X, y)
    print(f"train accuracy={accuracy_score(y, model.predict(X)):.5f}")
    if args.validation:
        valid = read_channel(args.validation)
        Xv, yv = valid.drop(columns=[args.target]), valid[args.target]
        print(f"validation accuracy={accuracy_score(yv, model.predict(Xv)):.5f}")
        if yv.nunique() == 2:
            print(f"validation auc={roc_auc_score(yv, model.predict_proba(Xv)[:, 1]):.5f}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    print(f"Saved model to {args.model_dir}")
