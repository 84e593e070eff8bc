"""Training the breed model: data, backbones, training loop, evaluation."""
