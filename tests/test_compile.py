"""ad.jit: compiled programs equal eager results bit for bit; guards retrace; values read in
Python raise naming the line; values computed outside the table are detected."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad
from autodiff.compile import TraceError
from autodiff.testing.strategies import expressions


def _calls(f, inputs_list):
    """Call a jitted f on each input tuple; the third call onward runs the compiled code."""
    return [f(*xs) for xs in inputs_list]


def _shifted(arrays, k):
    return [a + 0.25 * k for a in arrays]


def test_jit_equals_eager_and_compiles_from_the_second_trace():
    def f(x, y):
        return ad.tanh(x @ y) * 2 + ad.exp(-x).sum()

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    jf = ad.jit(f)
    for k in range(4):
        xk = x + k
        np.testing.assert_array_equal(jf(xk, y), f(ad.Tensor(xk), ad.Tensor(y)).numpy())
    assert "def compiled(a0, a1):" in jf.source
    assert "np.matmul(a0, a1" in jf.source


@given(expressions(max_steps=6))
def test_random_programs_compiled_equal_eager(program):
    grad_f = ad.grad(lambda *xs: program(*xs).sum(), argnums=tuple(range(len(program.inputs))))
    jitted = ad.jit(lambda *xs: program(*xs))
    jitted_grad = ad.jit(grad_f)
    for k in range(3):
        xs = _shifted(program.inputs, k)
        expected = program(*[ad.Tensor(x) for x in xs]).numpy()
        np.testing.assert_array_equal(jitted(*xs), expected)
        for got, want in zip(jitted_grad(*xs), grad_f(*xs), strict=True):
            np.testing.assert_array_equal(got, want)


def test_jit_of_grad_matches_the_closed_form():
    df = ad.jit(ad.grad(lambda x: (ad.sin(x) * x).sum()))
    for v in (0.5, 1.0, 2.0):
        x = np.array([v, -v])
        np.testing.assert_allclose(df(x), np.cos(x) * x + np.sin(x), rtol=1e-15)


def test_relu_mask_is_an_operation_not_a_constant():
    f = ad.jit(ad.grad(lambda x: ad.relu(x).sum()))
    outs = [f(np.array([s * 1.0, -s * 1.0])) for s in (1, -1, 2, -2)]
    assert [o.tolist() for o in outs] == [[1, 0], [0, 1], [1, 0], [0, 1]]
    assert "greater" in str(f.program)


def test_parameters_from_the_closure_are_read_at_every_call():
    w = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    f = ad.jit(lambda x: (x * w).sum())
    for v in (1.0, 2.0, 3.0):
        f(np.array([v, v]))
    with ad.no_grad():
        w[...] = [10.0, 20.0]
    assert float(f(np.array([1.0, 1.0]))) == 30.0
    w.data = np.array([-1.0, -1.0])
    assert float(f(np.array([1.0, 1.0]))) == -2.0


def test_a_new_shape_or_dtype_retraces():
    f = ad.jit(lambda x: x * 2)
    for n in (2, 3):
        for k in range(3):
            np.testing.assert_array_equal(f(np.arange(n) + k * 1.0), (np.arange(n) + k) * 2.0)
    assert f(np.ones(2, np.float32)).dtype == np.float32
    assert len(f._cache) == 3


def test_tensor_arguments_give_tensors_and_plain_give_arrays():
    f = ad.jit(lambda x: x + 1)
    assert isinstance(f(np.ones(2)), np.ndarray)
    assert isinstance(f(ad.Tensor(np.ones(2))), ad.Tensor)


def test_outputs_are_not_overwritten_by_later_calls():
    f = ad.jit(lambda x: ad.exp(x) * 2)
    outs = [f(np.array([float(k)])) for k in range(5)]
    assert [o[0] for o in outs] == [np.exp(float(k)) * 2 for k in range(5)]


def test_data_dependent_control_flow_names_the_line():
    def f(x):
        if x.sum() > 0:  # the offending line
            return x * 2
        return x * 3

    with pytest.raises(TraceError, match=r"bool\(\) of a traced value at .*test_compile.py:\d+ in f"):
        ad.jit(f)(np.ones(3))
    fallback = ad.jit(f, fallback=True)
    np.testing.assert_array_equal(fallback(np.ones(3)), np.full(3, 2.0))
    np.testing.assert_array_equal(fallback(-np.ones(3)), np.full(3, -3.0))


@pytest.mark.parametrize("read", [lambda t: t.item(), float, lambda t: np.asarray(t), lambda t: (t * 1).data])
def test_python_reads_of_traced_values_raise(read):
    def f(x):
        y = x.sum()
        read(y)
        return y

    with pytest.raises(TraceError, match="test_compile.py"):
        ad.jit(f)(np.ones(3))


def test_a_value_computed_outside_the_table_is_detected():
    def f(x):
        return x * (x.data > 0)  # a NumPy mask: not traced

    jf = ad.jit(f)
    jf(np.array([1.0, -1.0]))
    with pytest.raises(TraceError, match="outside the primitive table"):
        jf(np.array([-1.0, 1.0]))
    eager = ad.jit(f, fallback=True)
    for v in (1.0, -1.0, 2.0):
        np.testing.assert_array_equal(eager(np.array([v, -v])), np.array([v, -v]) * (np.array([v, -v]) > 0))


def test_program_listing_and_passes():
    f = ad.jit(lambda x, y: (x + ad.broadcast_to(y, (2, 3))).sum() + (x * 0).sum() * 0)
    for k in range(3):
        f(np.ones((2, 3)) * k, np.ones(3))
    text = str(f.program)
    assert text.startswith("inputs:  %0:f64[2,3] (arg0) %1:f64[3] (arg1)")
    assert "broadcast_to" not in f.source  # resolved: add broadcasts y itself


def test_jit_inside_a_trace_is_inlined():
    inner = ad.jit(lambda x: x * 3)
    outer = ad.jit(lambda x: inner(x) + 1)
    for v in (1.0, 2.0, 3.0):
        assert float(outer(np.array(v))) == 3 * v + 1


@given(st.integers(1, 5), st.sampled_from([np.float32, np.float64]))
def test_float32_stays_float32(n, dtype):
    f = ad.jit(ad.grad(lambda x: (ad.sigmoid(x) * x).sum()))
    for k in range(3):
        x = np.linspace(-1, 1, n).astype(dtype) + k
        got = f(x)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, ad.grad(lambda x: (ad.sigmoid(x) * x).sum())(x))


def test_a_call_that_needs_a_graph_runs_eagerly():
    f = ad.jit(lambda x: ad.sin(x) * 2)
    x = ad.Tensor(np.array([0.5, 1.0]), requires_grad=True)
    f(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos([0.5, 1.0]), rtol=1e-15)
    assert [line.split("= ")[1].split()[0] for line in ad.trace(f, np.array([1.0])).equations] == ["sin", "mul"]


def test_an_output_equal_to_an_input_is_a_copy():
    f = ad.jit(lambda x: x * 1.0)
    xs = [np.array([1.0, -0.0, np.inf]) + k for k in range(3)]
    outs = [f(x) for x in xs]
    for x, out in zip(xs, outs, strict=True):
        np.testing.assert_array_equal(out, x)
        assert not np.shares_memory(out, x)
    assert "multiplications by one" in str(f.program)
