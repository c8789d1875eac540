"""nn: neural networks composed purely of autodiff Tensors (layers arrive in a later issue)."""
