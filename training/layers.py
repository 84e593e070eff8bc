"""Custom Keras layers of the exported model (registered so `.keras` files reload)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

# ImageNet classes 281-285 are domestic cats (tabby, tiger cat, Persian, Siamese, Egyptian
# cat); 286-293 are wild cats (cougar, lynx, leopard, snow leopard, jaguar, lion, tiger, cheetah).
CAT_CLASSES = tuple(range(281, 294))


@keras.saving.register_keras_serializable(package="catbreed")
class CatScore(keras.layers.Layer):
    """ImageNet logits -> probability mass on the cat classes, shape (N, 1)."""

    def __init__(self, classes: tuple[int, ...] = CAT_CLASSES, **kwargs) -> None:
        super().__init__(**kwargs)
        self.classes = tuple(int(c) for c in classes)
        mask = np.zeros((1000, 1), dtype="float32")
        mask[list(self.classes)] = 1.0
        self._mask = mask

    def call(self, logits):
        return ops.matmul(ops.softmax(logits, axis=-1), ops.convert_to_tensor(self._mask))

    def get_config(self) -> dict:
        return {**super().get_config(), "classes": list(self.classes)}


@keras.saving.register_keras_serializable(package="catbreed")
class HorizontalFlip(keras.layers.Layer):
    """Mirror images left to right (NHWC), for test-time flip averaging."""

    def call(self, images):
        return ops.flip(images, axis=2)
