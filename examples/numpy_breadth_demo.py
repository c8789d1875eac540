"""NumPy's reductions, shape and indexing functions on Tensors, with their gradients.

Run: python examples/numpy_breadth_demo.py   (prints the numbers quoted in the README)
"""

import numpy as np

import autodiff as ad


def main() -> None:
    x = ad.Tensor([2.0, 0.0, 3.0, 0.0], requires_grad=True)
    ad.prod(x).backward()
    print("d prod / dx at [2, 0, 3, 0]:", x.grad.numpy())
    x = ad.Tensor([2.0, 0.0, 3.0, 4.0], requires_grad=True)
    ad.prod(x).backward()
    print("d prod / dx at [2, 0, 3, 4]:", x.grad.numpy())

    x = ad.Tensor([4.0, 1.0, 3.0, 2.0], requires_grad=True)
    ad.median(x).backward()
    print("median", ad.median(x).item(), "gradient", x.grad.numpy())

    t = ad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = np.pad(t, 1, mode="reflect")  # NumPy's own function on a Tensor
    print("np.pad(t, 1, mode='reflect') ->", type(y).__name__, y.shape)
    (y * y).sum().backward()
    print("its gradient (each element counted as often as it was copied):")
    print(t.grad.numpy())

    z = ad.logcumsumexp(ad.Tensor([1e4, -1e4, 1e4]))
    print("logcumsumexp([1e4, -1e4, 1e4]) - 1e4:", (z - 1e4).numpy().round(6))
    s = ad.std(ad.Tensor([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]], requires_grad=True), axis=1, correction=1)
    print("std(correction=1):", s.numpy().round(6))


if __name__ == "__main__":
    main()
