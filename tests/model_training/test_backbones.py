"""The Keras port of EfficientNet-Lite matches the PyTorch reference implementation."""

from __future__ import annotations

import numpy as np
import pytest

from training.backbones import efficientnet_lite, lite_checkpoint_path

torch = pytest.importorskip("torch")
reference = pytest.importorskip("efficientnet_lite_pytorch")


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def test_keras_port_matches_pytorch_logits(name: str) -> None:
    backbone = efficientnet_lite(name)
    size = backbone.input_size
    torch_model = reference.EfficientNet.from_pretrained(
        name.replace("_", "-"), weights_path=str(lite_checkpoint_path(name))
    ).eval()
    pixels = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    keras_logits = backbone.imagenet_head(backbone.features(pixels, training=False)).numpy()
    with torch.no_grad():  # the reference expects (x - 127) / 128, channels first
        torch_logits = torch_model(torch.from_numpy((pixels - 127) / 128).permute(0, 3, 1, 2)).numpy()
    assert np.abs(keras_logits - torch_logits).max() < 1e-4
    assert (keras_logits.argmax(1) == torch_logits.argmax(1)).all()
    assert len(backbone.blocks) == 1 + sum(1 for layer in backbone.features.layers if layer.name.endswith("_project"))


def test_split_cuts_before_the_top_blocks_and_recomposes_the_backbone() -> None:
    backbone = efficientnet_lite("efficientnet_lite0")
    bottom, top = backbone.split(2)  # block15 and the head conv
    assert bottom.output_shape == (None, 7, 7, 192)
    names = {layer.name for layer in top.layers}
    assert {"block15_expand", "head_conv"} <= names and not any(n.startswith("block14_") for n in names)
    pixels = np.random.default_rng(1).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    whole = backbone.features.predict(pixels, verbose=0)
    assert np.allclose(top.predict(bottom.predict(pixels, verbose=0), verbose=0), whole, atol=1e-5)
