"""SCALE-Sim and DNN+NeuroSim topology importers: shapes, MAC counts in closed form, clear errors."""
from pathlib import Path

import numpy as np
import pytest

from neurosim.importers import TopologyError, random_operands, read_topology, to_spec_string, total_macs
from neurosim.spec import parse_network

WL = Path(__file__).resolve().parents[1] / "workloads"


def test_lenet_scalesim():
    layers = read_topology(WL / "scalesim_lenet.csv")
    assert [l.name for l in layers] == ["Conv1", "Conv2", "Conv3", "FC1", "FC2"]
    assert layers[0].out_shape == (28, 28, 6) and layers[1].out_shape == (10, 10, 16)
    assert [l.kind for l in layers] == ["conv", "conv", "dense", "dense", "dense"]
    assert layers[0].macs() == 28 * 28 * 5 * 5 * 1 * 6
    assert layers[3].macs() == 120 * 84
    parse_network(to_spec_string(layers))  # a spec neurosim reads


def test_alexnet_scalesim():
    layers = read_topology(WL / "scalesim_alexnet.csv")
    assert layers[0].out_shape == (55, 55, 96) and layers[1].out_shape == (27, 27, 256)
    assert layers[5].kind == "dense" and layers[5].macs() == 9216 * 4096
    assert total_macs(layers) == sum(l.out_shape[0] * l.out_shape[1] * l.kernel**2 * l.in_shape[2] * l.filters
                                     for l in layers)


def test_vgg8_neurosim_same_padding_and_pooling():
    layers = read_topology(WL / "neurosim_vgg8.csv")
    assert layers[0].padding == 1 and layers[0].out_shape == (32, 32, 128)
    assert [l.pool_after for l in layers] == [0, 2, 0, 2, 0, 2, 0, 0]
    assert layers[6].kind == "dense" and layers[6].out_shape == (1, 1, 1024)
    spec = to_spec_string(layers)
    assert spec.startswith("128C3p1-128C3p1-MP2-") and spec.endswith("1024FC-10")
    parse_network(spec)


@pytest.mark.parametrize("text,fmt,msg", [
    ("", None, "empty topology"),
    ("Layer name, IFMAP Height\nConv1, 3\n", "scalesim", "header must be"),
    ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
     "C1, 8, 8, 3, 3, 1, x, 1,\n", None, "row 1, column 'num filter': 'x' is not an integer"),
    ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
     "C1, 8, 8, 9, 9, 1, 4, 1,\n", None, "row 1, column 'filter'"),
    ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
     "C1, 8, 8, 3, 3, 1, 4, 0,\n", None, "row 1, column 'strides': 0 must be >= 1"),
    ("8,8,3,3,3,16,2,1\n", None, "row 1, column 'Pooling': 2; allowed: 0 or 1"),
    ("8,8,3,3,3,16,0\n", None, "row 1: expected 8 columns"),
])
def test_malformed_topologies(tmp_path, text, fmt, msg):
    f = tmp_path / "topo.csv"
    f.write_text(text)
    with pytest.raises(TopologyError, match=msg.replace("(", r"\(")) as e:
        read_topology(f, fmt)
    assert "topo.csv" in str(e.value)


def test_random_operands_density_and_seed():
    layer = read_topology(WL / "scalesim_lenet.csv")[1]
    x, w = random_operands(layer, 64, 0.3, seed=5)
    assert x.shape == (64, 14, 14, 6) and w.shape == (5, 5, 6, 16)
    assert abs(np.count_nonzero(x) / x.size - 0.3) < 0.01
    assert set(np.unique(x)) <= {-1.0, 0.0, 1.0}
    x2, _ = random_operands(layer, 64, 0.3, seed=5)
    np.testing.assert_array_equal(x, x2)
    xb, _ = random_operands(layer, 4, 0.3, levels="binary")
    assert set(np.unique(xb)) == {-1.0, 1.0}
