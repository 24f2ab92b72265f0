"""A SageMaker-style MXNet Gluon training script: a small MLP classifier on tabular CSV.

Runs unmodified on SageMaker's MXNet container: hyperparameters as arguments, data in
SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION, model to SM_MODEL_DIR. ``model_fn`` and
``predict_fn`` are SageMaker's inference hooks.
"""

import argparse
import glob
import json
import os

import numpy as np
import pandas as pd


def read_channel(path, target):
    files = sorted(glob.glob(os.path.join(path, "*.csv")))
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    features = frame.drop(columns=[target])
    return features, frame[target].to_numpy().astype("float32")


def build_net(hidden, num_classes, dropout):
    from mxnet.gluon import nn

    net = nn.HybridSequential()
    net.add(nn.Dense(hidden, activation="relu"))
    net.add(nn.Dropout(dropout))
    net.add(nn.Dense(hidden, activation="relu"))
    net.add(nn.Dense(num_classes))
    return net


def model_fn(model_dir):
    import mxnet as mx

    with open(os.path.join(model_dir, "model-meta.json")) as f:
        meta = json.load(f)
    net = build_net(meta["hidden"], meta["num_classes"], 0.0)
    net.load_parameters(os.path.join(model_dir, "model.params"), ctx=mx.cpu())
    return {"net": net, "meta": meta}


def predict_proba(model, features):
    import mxnet as mx

    meta = model["meta"]
    if isinstance(features, pd.DataFrame):
        features = features[meta["features"]].to_numpy()
    x = (np.asarray(features, dtype="float32") - meta["mean"]) / meta["std"]
    return mx.nd.softmax(model["net"](mx.nd.array(x))).asnumpy()


def predict_fn(input_data, model):
    return predict_proba(model, input_data).argmax(axis=1)


def main():
    import mxnet as mx
    from mxnet import autograd, gluon

    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--target", type=str, default="label")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    args, _ = parser.parse_known_args()

    mx.random.seed(0)
    np.random.seed(0)
    features, y = read_channel(args.train, args.target)
    num_classes = int(y.max()) + 1
    mean = features.mean().to_numpy()
    std = features.std().replace(0, 1).to_numpy()
    x = ((features.to_numpy() - mean) / std).astype("float32")
    loader = gluon.data.DataLoader(
        gluon.data.ArrayDataset(x, y), batch_size=args.batch_size, shuffle=True
    )
    net = build_net(args.hidden, num_classes, args.dropout)
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": args.learning_rate})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    meta = {
        "hidden": args.hidden,
        "num_classes": num_classes,
        "features": list(features.columns),
        "mean": mean.tolist(),
        "std": std.tolist(),
    }
    valid = read_channel(args.validation, args.target) if args.validation else None
    for epoch in range(args.epochs):
        total, count = 0.0, 0
        for data, label in loader:
            with autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            trainer.step(data.shape[0])
            total += loss.sum().asscalar()
            count += data.shape[0]
        line = f"epoch={epoch} train_loss={total / count:.5f}"
        if valid is not None:
            probs = predict_proba({"net": net, "meta": meta}, valid[0])
            line += f" validation_accuracy={(probs.argmax(axis=1) == valid[1]).mean():.5f}"
        print(line, flush=True)
    net.save_parameters(os.path.join(args.model_dir, "model.params"))
    with open(os.path.join(args.model_dir, "model-meta.json"), "w") as f:
        json.dump(meta, f)
    print(f"Saved model to {args.model_dir}")


if __name__ == "__main__":
    main()
