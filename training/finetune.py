"""The breed head and the fine-tuning of the backbone's top blocks, on a CPU: the bottom of
the backbone runs once per view and its activations are kept (on disk between runs); the head
starts as a class-balanced logistic regression on pooled features; then the top blocks and the
head are trained together on the cached activations (class and source weights, cosine
schedule), while a distillation loss keeps the ImageNet classifier's answers (the cat score)."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import keras
import numpy as np
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression

log = logging.getLogger("training")


def predict(model: keras.Model, inputs: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """The model's outputs for uint8 or float pixels (or activations), quietly."""
    return model.predict(inputs.astype(np.float32), batch_size=batch_size, verbose=0)


def fit_head(
    features: np.ndarray, labels: np.ndarray, c: float, seed: int, weights: np.ndarray | None = None
) -> keras.layers.Dense:
    """Class-balanced multinomial logistic regression, returned as a Keras Dense (logits).
    Every class index up to labels.max() must occur."""
    regression = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)
    regression.fit(features, labels, sample_weight=weights)
    head = keras.layers.Dense(len(regression.classes_), name="breed_logits")
    head.build((None, features.shape[1]))
    head.set_weights([regression.coef_.T.astype(np.float32), regression.intercept_.astype(np.float32)])
    return head


def class_weights(labels: np.ndarray) -> np.ndarray:
    """Per-class weights that make every breed count the same."""
    counts = np.bincount(labels)
    return len(labels) / (len(counts) * np.maximum(counts, 1))


class Progress(keras.callbacks.Callback):
    """Logs each epoch with its loss, the time it took and the time left."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs
        self.started = time.time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        spent = time.time() - self.started
        left = spent / (epoch + 1) * (self.epochs - epoch - 1)
        losses = ", ".join(f"{k} {v:.3f}" for k, v in (logs or {}).items() if k.endswith("loss"))
        log.info(
            "fine-tuning epoch %d/%d: %s; %.1f min so far, about %.1f min left",
            epoch + 1,
            self.epochs,
            losses,
            spent / 60,
            left / 60,
        )


def fine_tune_top(
    top: keras.Model,
    head: keras.layers.Dense,
    activations: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    imagenet_head: keras.layers.Dense | None = None,
    teacher: np.ndarray | None = None,
    distill_weight: float = 1.0,
) -> None:
    """Train the top blocks and the head on cached activations; batch-norm stays frozen.

    With `imagenet_head` and `teacher` (the ImageNet probabilities of the top before
    fine-tuning, one row per activation), the frozen ImageNet classifier on the fine-tuned
    features is pulled towards the teacher (learning without forgetting), so that it keeps
    its meaning for the cat score.
    """
    keras.utils.set_random_seed(seed)
    for layer in top.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    inputs = keras.Input(top.input.shape[1:])
    features = top(inputs)
    outputs = {"breed": head(keras.layers.Dropout(0.3, seed=seed)(features))}
    losses = {"breed": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}
    targets = {"breed": labels}
    if imagenet_head is not None and teacher is not None:
        imagenet_head.trainable = False
        outputs["imagenet"] = imagenet_head(features)
        losses["imagenet"] = keras.losses.CategoricalCrossentropy(from_logits=True)
        targets["imagenet"] = teacher
    model = keras.Model(inputs, outputs)
    steps = epochs * int(np.ceil(len(labels) / batch_size))
    model.compile(
        keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(learning_rate, steps), weight_decay=1e-4),
        losses,
        loss_weights={"breed": 1.0, "imagenet": distill_weight} if len(losses) == 2 else None,
    )
    model.fit(
        activations,
        targets,
        sample_weight=weights * class_weights(labels)[labels],
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=0,
        callbacks=[Progress(epochs)],
    )


def bottom_activations(bottom: keras.Model, views: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """The bottom's activations (float16) for every view, then for every view mirrored;
    logs progress with the time left."""
    started = time.time()
    parts, total = [], 2 * len(views)
    for mirror in (False, True):
        for first in range(0, len(views), chunk):
            pixels = views[first : first + chunk]
            parts.append(predict(bottom, pixels[:, :, ::-1] if mirror else pixels, 64).astype(np.float16))
            done = sum(len(p) for p in parts)
            left = (time.time() - started) / done * (total - done)
            log.info("bottom activations %d/%d, about %.1f min left", done, total, left / 60)
    return np.concatenate(parts)


def cached_activations(bottom: keras.Model, views: np.ndarray, cache: Path | None, key: str) -> np.ndarray:
    """bottom_activations, kept in `cache` under a key naming everything they depend on
    (backbone, cut, photos, views, seed), so a second run of the same recipe skips them."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    path = cache / f"activations-{digest}.npy" if cache else None
    if path and path.exists():
        log.info("bottom activations read from %s", path)
        return np.load(path)
    activations = bottom_activations(bottom, views)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, activations)
    return activations


def top_outputs(top: keras.Model, imagenet_head: keras.layers.Dense, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled features of the top before fine-tuning, and its ImageNet probabilities (the
    distillation targets), for every cached activation."""
    features = predict(top, activations, 128)
    kernel, bias = imagenet_head.get_weights()
    teacher = softmax(features @ kernel + bias, axis=1).astype(np.float16)
    return features, teacher
