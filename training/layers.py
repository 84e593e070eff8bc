"""Custom Keras layers of the exported model (registered so `.keras` files reload)."""

from __future__ import annotations

import keras
from keras import ops

# ImageNet classes 281-285 are domestic cats (tabby, tiger cat, Persian, Siamese, Egyptian
# cat); 286-293 are wild cats (cougar, lynx, leopard, snow leopard, jaguar, lion, tiger, cheetah).
CAT_CLASSES = tuple(range(281, 294))


@keras.saving.register_keras_serializable(package="catbreed")
class HorizontalFlip(keras.layers.Layer):
    """Mirror images left to right (NHWC), for test-time flip averaging."""

    def call(self, images):
        return ops.flip(images, axis=2)
