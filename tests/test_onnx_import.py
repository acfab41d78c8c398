"""ONNX models in (issue 13 item 5): models built here with onnx.helper (nothing is downloaded), imported as a layer
DAG, run on gxnor and on a crossbar through the CLI; the Add and Concat rows show their data movement."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper

from neurosim.cli import main
from neurosim.onnx_import import OnnxError, dst_states, read_onnx, ternary_twn
from neurosim.testing.datasets import dataset_root


# ---------------------------------------------------------------------------------------------- model builders
def _init(name: str, a) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(a, np.float32), name)


def _save(path: Path, nodes, inits, in_shape, out_name: str, out_shape) -> Path:
    g = helper.make_graph(nodes, path.stem, [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


BN = dict(g=[1.0, 2.0, 0.5, 1.5], be=[0.1, -0.2, 0.0, 0.3], mu=[0.5, -0.5, 0.0, 1.0], var=[1.0, 4.0, 0.25, 2.0])


def small_cnn(path: Path, seed: int = 0) -> Path:
    """Conv(1->4, 3x3, pad 1)-BN-Relu-MaxPool(2)-Flatten-Gemm(64 -> 10, transB) on 1x8x8."""
    rng = np.random.default_rng(seed)
    inits = [_init("w0", rng.standard_normal((4, 1, 3, 3))), _init("b0", [0.1, 0.2, -0.1, 0.0]),
             *(_init(k, v) for k, v in BN.items()),
             _init("wf", rng.standard_normal((10, 64))), _init("bf", np.arange(10) / 10)]
    nodes = [helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], name="conv0", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c0", "g", "be", "mu", "var"], ["n0"], name="bn0"),
             helper.make_node("Relu", ["n0"], ["r0"], name="relu0"),
             helper.make_node("MaxPool", ["r0"], ["p0"], name="pool0", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p0"], ["f0"], name="flat"),
             helper.make_node("Gemm", ["f0", "wf", "bf"], ["y"], name="fc", transB=1)]
    return _save(path, nodes, inits, [1, 1, 8, 8], "y", [1, 10])


def resnet(path: Path, side: int = 8, seed: int = 0, sparsity: float = 0.0) -> Path:
    """conv0 relu0 = A; conv1 relu1 conv2; add1 = conv2 + A (identity skip); relu2 = B; conv3 (1x1) relu3;
    concat(B, relu3); maxpool 2 = P; conv4; add2 = conv4 + P (followed by flatten: it writes its sum); MatMul.
    ``sparsity``: fraction of every initializer's entries set exactly to zero."""
    rng = np.random.default_rng(seed)

    def w(shape):
        return np.where(rng.random(shape) < sparsity, 0.0, rng.standard_normal(shape))

    h = side // 2
    inits = [_init("w0", w((4, 1, 3, 3))), _init("w1", w((4, 4, 3, 3))), _init("w2", w((4, 4, 3, 3))),
             _init("w3", w((4, 4, 1, 1))), _init("w4", w((8, 8, 3, 3))), _init("wf", w((8 * h * h, 10)))]
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", **conv),
             helper.make_node("Relu", ["c0"], ["a"], name="relu0"),
             helper.make_node("Conv", ["a", "w1"], ["c1"], name="conv1", **conv),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", **conv),
             helper.make_node("Add", ["c2", "a"], ["s1"], name="add1"),
             helper.make_node("Relu", ["s1"], ["b"], name="relu2"),
             helper.make_node("Conv", ["b", "w3"], ["c3"], name="conv3", kernel_shape=[1, 1]),
             helper.make_node("Relu", ["c3"], ["r3"], name="relu3"),
             helper.make_node("Concat", ["b", "r3"], ["cat"], name="concat", axis=1),
             helper.make_node("MaxPool", ["cat"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p", "w4"], ["c4"], name="conv4", **conv),
             helper.make_node("Add", ["c4", "p"], ["s2"], name="add2"),
             helper.make_node("Flatten", ["s2"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "wf"], ["y"], name="fc")]
    return _save(path, nodes, inits, [1, 1, side, side], "y", [1, 10])


def with_sigmoid(path: Path) -> Path:
    inits = [_init("w0", np.ones((2, 1, 3, 3)))]
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3]),
             helper.make_node("Sigmoid", ["c0"], ["y"], name="Sigmoid_3")]
    return _save(path, nodes, inits, [1, 1, 8, 8], "y", [1, 2, 6, 6])


def _rows(folder: Path) -> dict[str, dict]:
    with open(folder / "layers.csv", newline="") as f:
        return {r["name"]: r for r in csv.DictReader(f)}


def _bits(r: dict, *cols: str) -> int:
    return sum(int(float(r[c])) for c in cols)


# ---------------------------------------------------------------------------------------------- (a) a small CNN
def test_small_cnn_shapes_macs_and_forward(tmp_path):
    m = read_onnx(small_cnn(tmp_path / "cnn.onnx"))
    got = [(l.name, l.kind, l.in_shape, l.out_shape, l.macs) for l in m.layers]
    assert got == [("conv0", "conv", (8, 8, 1), (8, 8, 4), 8 * 8 * 3 * 3 * 1 * 4),
                   ("bn0", "bn", (8, 8, 4), (8, 8, 4), 0), ("relu0", "act", (8, 8, 4), (8, 8, 4), 0),
                   ("pool0", "pool", (8, 8, 4), (4, 4, 4), 0), ("flat", "flatten", (4, 4, 4), (64,), 0),
                   ("fc", "dense", (64,), (10,), 64 * 10)]
    assert m.macs_per_sample == 2304 + 640
    assert list(m.graph.edges()) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    # the numpy forward against a direct NCHW computation
    x = np.random.default_rng(1).random((3, 1, 8, 8)).astype(np.float32)
    _, outs = m.forward(x.transpose(0, 2, 3, 1))
    w0 = numpy_helper.to_array(next(t for t in onnx.load(str(tmp_path / "cnn.onnx")).graph.initializer
                                    if t.name == "w0"))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    c = np.zeros((3, 4, 8, 8), np.float32)
    for i in range(3):
        for j in range(3):
            c += np.einsum("bchw,fc->bfhw", xp[:, :, i:i + 8, j:j + 8], w0[:, :, i, j])
    c += np.array([0.1, 0.2, -0.1, 0.0], np.float32)[None, :, None, None]
    g, be, mu, var = (np.array(BN[k], np.float32)[None, :, None, None] for k in ("g", "be", "mu", "var"))
    n = np.maximum((c - mu) / np.sqrt(var + 1e-5) * g + be, 0)
    p = n.reshape(3, 4, 4, 2, 4, 2).max(axis=(3, 5))
    wf = numpy_helper.to_array(next(t for t in onnx.load(str(tmp_path / "cnn.onnx")).graph.initializer
                                    if t.name == "wf"))
    y = p.reshape(3, 64) @ wf.T + np.arange(10) / 10
    np.testing.assert_allclose(outs[-1], y, rtol=1e-4, atol=1e-4)


def test_resnet_forward_matches_onnx_reference(tmp_path):
    from onnx.reference import ReferenceEvaluator

    path = resnet(tmp_path / "res.onnx")
    m = read_onnx(path)
    x = np.random.default_rng(2).random((2, 1, 8, 8)).astype(np.float32)
    ref = ReferenceEvaluator(str(path)).run(None, {"x": x})[0]
    _, outs = m.forward(x.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(outs[m.output], ref, rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------------------------------------- (b) ResNet-style runs
@pytest.mark.slow
@pytest.mark.parametrize("arch", ["gxnor", "crossbar_dst"])
def test_resnet_runs_and_add_rows_move_data(tmp_path, arch, capsys):
    path = resnet(tmp_path / "res.onnx")
    out = tmp_path / arch
    B = 4
    assert main(["run", str(path), "--arch", arch, "--batch", str(B), "--density", "0.6", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["format"] == "onnx" and s["batch"] == B and "seeded random inputs" in s["operands"]["source"]
    assert s["energy_pj"] > 0 and s["cycles"] > 0
    assert ["relu0", "add1"] in s["graph"]["skip_edges"] and ["pool", "add2"] in s["graph"]["skip_edges"]
    rows = _rows(out)
    w = 2  # ternary activations (gxnor's array, crossbar_dst's ternary driver)
    a1, a2, cat = rows["add1"], rows["add2"], rows["concat"]
    # add1 reads conv2's and relu0's 8x8x4 maps; add2 reads conv4's and pool's 4x4x8 maps and writes its sum
    assert _bits(a1, "onchip_read_bits", "offchip_read_bits") == B * 2 * 256 * w
    assert _bits(a2, "onchip_read_bits", "offchip_read_bits") == B * 2 * 128 * w
    assert _bits(a2, "onchip_write_bits", "offchip_write_bits") == B * 128 * w
    assert _bits(cat, "onchip_read_bits") == B * (256 + 256) * w
    if arch == "gxnor":  # add1 is followed by a fused ReLU: the block (add1 + relu2) writes once, at its end
        assert _bits(a1, "onchip_write_bits") == 0
        assert _bits(rows["relu2"], "onchip_write_bits") == B * 256 * w
        assert float(a1["energy_pj"]) > 0
    else:  # the crossbar periphery writes the sum back into the output buffer
        assert _bits(a1, "onchip_write_bits") == B * 256 * w
        assert _bits(cat, "onchip_write_bits") == B * 512 * w
    # the rows (joins included) add up to the run's totals
    assert sum(float(r["energy_pj"]) for r in rows.values()) == pytest.approx(s["energy_pj"], rel=1e-9)
    assert sum(int(r["cycles"]) for r in rows.values()) == s["cycles"]
    assert "MACs per sample" in capsys.readouterr().out


def test_dag_has_skip_edges(tmp_path):
    m = read_onnx(resnet(tmp_path / "res.onnx"))
    name = {l.name: l.index for l in m.layers}
    g = m.graph
    assert g.has_edge(name["relu0"], name["add1"]) and g.has_edge(name["conv2"], name["add1"])
    assert g.has_edge(name["relu2"], name["concat"]) and g.has_edge(name["relu3"], name["concat"])
    assert g.edges[name["relu0"], name["add1"]]["tensor"] == "a"
    assert sorted(g.predecessors(name["add2"])) == [name["pool"], name["conv4"]]


@pytest.mark.slow
def test_skip_tensor_spilled_to_dram_when_the_buffer_is_small(tmp_path):
    path = resnet(tmp_path / "res.onnx")
    out = tmp_path / "small"
    B = 4
    assert main(["run", str(path), "--arch", "gxnor", "--batch", str(B), "--density", "0.6", "--out", str(out),
                 "--set", "arch.global_buffer.capacity_bits=4096"]) == 0
    a1 = _rows(out)["add1"]
    skip = B * 256 * 2  # relu0's map, live across conv1, relu1, conv2
    assert int(a1["offchip_write_bits"]) == skip and int(a1["offchip_read_bits"]) == skip
    assert int(a1["onchip_read_bits"]) == 2 * skip  # conv2's map, and relu0's copy out to DRAM


@pytest.mark.slow
def test_mnist_split_feeds_a_28x28_model(tmp_path):
    data = dataset_root()
    if not (data / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("no MNIST test split here")
    out = tmp_path / "mnist"
    assert main(["run", str(resnet(tmp_path / "res28.onnx", side=28)), "--arch", "gxnor", "--batch", "2",
                 "--data", str(data), "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["operands"]["source"].startswith("mnist test split, first 2 images")


# ---------------------------------------------------------------------------------------------- (c) unsupported op
def test_unsupported_op_names_node_and_op(tmp_path, capsys):
    path = with_sigmoid(tmp_path / "model.onnx")
    assert main(["run", str(path), "--arch", "gxnor", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: node 'Sigmoid_3' (op Sigmoid): not supported; supported: Conv, Gemm, MatMul, MaxPool, " \
           f"AveragePool, BatchNormalization, Relu, Add, Concat, Flatten" in err
    with pytest.raises(OnnxError, match="Sigmoid_3"):
        read_onnx(path)
    assert not (tmp_path / "o").exists()


def test_bad_file_and_training_flags(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf")
    assert main(["run", str(bad), "--arch", "gxnor", "--out", str(tmp_path / "o")]) == 2
    assert "bad.onnx: not a valid ONNX model" in capsys.readouterr().err
    path = resnet(tmp_path / "res.onnx")
    assert main(["run", str(path), "--arch", "gxnor", "--epochs", "2"]) == 2
    assert "--epochs: does not apply to an ONNX model" in capsys.readouterr().err
    assert main(["run", str(path), "--arch", "gxnor", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "--data: " in capsys.readouterr().err and not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------------------------- (d) weight sparsity
@pytest.mark.slow
def test_weight_mapping_keeps_real_sparsity(tmp_path):
    rng = np.random.default_rng(0)
    w = np.where(rng.random(1000) < 0.3, 0.0, rng.standard_normal(1000)).astype(np.float32)
    t = ternary_twn(w)
    delta = 0.7 * np.mean(np.abs(w))
    np.testing.assert_array_equal(t, np.where(np.abs(w) > delta, np.sign(w), 0))
    assert np.all(t[w == 0] == 0)
    vals, states = dst_states(w, 3)  # Z_3: 9 states, values k/4
    assert set(np.unique(states)) <= set(range(9)) and np.all(vals[w == 0] == 0) and np.all(states[w == 0] == 4)
    np.testing.assert_allclose(vals, np.clip(np.rint(w / np.abs(w).max() * 4), -4, 4) / 4)

    path = resnet(tmp_path / "sparse.onnx", sparsity=0.5)
    for arch in ("gxnor", "crossbar_dst"):
        out = tmp_path / arch
        assert main(["run", str(path), "--arch", arch, "--density", "0.5", "--out", str(out)]) == 0
        facts = {f["layer"]: f for f in json.loads((out / "summary.json").read_text())["weight_mapping"]}
        m = read_onnx(path)
        for layer in m.layers:
            if layer.weight is None:
                continue
            f = facts[layer.name]
            assert f["initializer_zero_fraction"] == pytest.approx(float(np.mean(layer.weight == 0)))
            assert f["mapped_zero_fraction"] >= f["initializer_zero_fraction"]
        assert 0.35 < facts["fc"]["initializer_zero_fraction"] < 0.65
