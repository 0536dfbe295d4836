"""Training side: MNIST loading, the CNN and the training loop (PyTorch)."""
