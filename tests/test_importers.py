"""SCALE-Sim and DNN+NeuroSim topology importers: shapes, MAC counts in closed form, clear errors, operands."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurosim.importers import (
    ImportedLayer,
    TopologyError,
    macs,
    random_operands,
    read_topology,
    to_spec_string,
    total_macs,
)
from neurosim.spec import parse_network

WL = Path(__file__).resolve().parents[1] / "workloads"
HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def _closed_form(h: int, w: int, c: int, k: int, f: int, s: int = 1, p: int = 0) -> int:
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return oh * ow * k * k * c * f


def test_lenet_scalesim():
    layers = read_topology(WL / "scalesim_lenet.csv")
    assert [l.name for l in layers] == ["Conv1", "Conv2", "Conv3", "FC1", "FC2"]
    assert [l.kind for l in layers] == ["conv", "conv", "dense", "dense", "dense"]
    assert [l.out_shape for l in layers] == [(28, 28, 6), (10, 10, 16), (1, 1, 120), (1, 1, 84), (1, 1, 10)]
    assert layers[2].in_shape == (1, 1, 400) and layers[2].kernel == 1  # 5x5 filter on a 5x5 IFMAP
    assert [macs(l) for l in layers] == [_closed_form(32, 32, 1, 5, 6), _closed_form(14, 14, 6, 5, 16),
                                         400 * 120, 120 * 84, 84 * 10]
    spec = to_spec_string(layers)
    assert spec == "6C5-MP2-16C5-MP2-120FC-84FC-10"
    assert [s.kind for s in parse_network(spec)] == ["conv", "pool", "conv", "pool", "dense", "dense", "output"]


def test_alexnet_scalesim():
    layers = read_topology(WL / "scalesim_alexnet.csv", "scalesim")
    assert [l.out_shape for l in layers] == [(55, 55, 96), (27, 27, 256), (13, 13, 384), (13, 13, 384),
                                             (13, 13, 256), (1, 1, 4096), (1, 1, 4096), (1, 1, 1000)]
    assert [l.kind for l in layers] == ["conv"] * 5 + ["dense"] * 3
    expect = [_closed_form(227, 227, 3, 11, 96, s=4), _closed_form(31, 31, 96, 5, 256),
              _closed_form(15, 15, 256, 3, 384), _closed_form(15, 15, 384, 3, 384),
              _closed_form(15, 15, 384, 3, 256), 9216 * 4096, 4096 * 4096, 4096 * 1000]
    assert [macs(l) for l in layers] == expect and total_macs(layers) == sum(expect)
    parse_network(to_spec_string(layers))


def test_vgg8_neurosim_same_padding_and_pooling():
    layers = read_topology(WL / "neurosim_vgg8.csv")
    assert [l.padding for l in layers] == [1] * 6 + [0, 0]
    assert [l.out_shape for l in layers] == [(32, 32, 128), (32, 32, 128), (16, 16, 256), (16, 16, 256),
                                             (8, 8, 512), (8, 8, 512), (1, 1, 1024), (1, 1, 10)]
    assert [l.pool_after for l in layers] == [0, 2, 0, 2, 0, 2, 0, 0]
    assert [macs(l) for l in layers] == [_closed_form(32, 32, 3, 3, 128, p=1), _closed_form(32, 32, 128, 3, 128, p=1),
                                         _closed_form(16, 16, 128, 3, 256, p=1), _closed_form(16, 16, 256, 3, 256, p=1),
                                         _closed_form(8, 8, 256, 3, 512, p=1), _closed_form(8, 8, 512, 3, 512, p=1),
                                         8192 * 1024, 1024 * 10]
    spec = to_spec_string(layers)
    assert spec == "128C3p1-128C3p1-MP2-256C3p1-256C3p1-MP2-512C3p1-512C3p1-MP2-1024FC-10"
    parse_network(spec)


def test_header_tolerates_case_spaces_and_no_trailing_comma(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("layer NAME,ifmapheight,IFMAP  Width,Filter Height,Filter Width,CHANNELS,Num Filter,Strides\n"
                 "c, 8, 8, 3, 3, 2, 4, 2\n")
    (layer,) = read_topology(f)
    assert layer == ImportedLayer("c", "conv", (8, 8, 2), 3, 2, 0, 4) and layer.out_shape == (3, 3, 4)


@pytest.mark.parametrize("text,fmt,where", [
    ("", None, "empty topology file"),
    ("\n  \n", "neurosim", "empty topology file"),
    (HEADER, None, "no layer rows"),
    ("Layer name, IFMAP Height\nConv1, 3\n", "scalesim", "header row, column 3"),
    (HEADER + "C1, 8, 8, 3, 3, 1, x, 1,\n", None, "row 1, column 'Num Filter': 'x' is not an integer"),
    (HEADER + "C1, 8, 8, 3, 3, 1, 4, 1,\nC2, 8, -8, 3, 3, 1, 4, 1,\n", None, "row 2, column 'IFMAP Width': -8"),
    (HEADER + "C1, 8, 8, 9, 9, 1, 4, 1,\n", None, "row 1, column 'Filter Height': filter 9 is larger"),
    (HEADER + "C1, 8, 8, 3, 5, 1, 4, 1,\n", None, "row 1, column 'Filter Width'"),
    (HEADER + "C1, 8, 8, 3, 3, 1, 4, 0,\n", None, "row 1, column 'Strides': 0; allowed: an integer >= 1"),
    (HEADER + "C1, 8, 8, 3, 3, 1, 4,\n", None, "row 1, column 8 \\('Strides'\\): missing"),
    ("8,8,3,3,3,16,0,1\n8,8,3,3,3,16,2,1\n", None, "row 2, column 'Pooling': 2; allowed: 0 or 1"),
    ("8,8,3,3,3,16,0\n", None, "row 1, column 8 \\('Stride'\\): missing"),
    ("8,8,3,3,3,16,0,1,7\n", None, "row 1, column 9: unexpected extra column"),
    ("1,1,3,2,2,16,0,1\n", None, "row 1, column 'Kernel_H': filter 2 is larger than the input 1 padded by 0"),
    ("8,8,3,3,3,16,0,1\n", "caffe", "unknown topology format 'caffe'; allowed"),
])
def test_malformed_topologies_name_file_row_column(tmp_path, text, fmt, where):
    f = tmp_path / "topo.csv"
    f.write_text(text)
    with pytest.raises(TopologyError, match=where) as e:
        read_topology(f, fmt)
    assert str(e.value).startswith(str(f))


def test_random_operands_density_levels_and_seed():
    conv = read_topology(WL / "scalesim_lenet.csv")[1]
    x, w = random_operands(conv, 64, 0.3, seed=5)
    assert x.shape == (64, 14, 14, 6) and w.shape == (5, 5, 6, 16) and x.dtype == w.dtype == np.float32
    assert abs(np.count_nonzero(x) / x.size - 0.3) < 0.01
    assert set(np.unique(x)) == {-1.0, 0.0, 1.0} and set(np.unique(w)) <= {-1.0, 0.0, 1.0}
    x2, w2 = random_operands(conv, 64, 0.3, seed=5)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(w, w2)
    assert not np.array_equal(x, random_operands(conv, 64, 0.3, seed=6)[0])
    xb, wb = random_operands(conv, 4, 0.3, levels="binary")
    assert set(np.unique(xb)) == set(np.unique(wb)) == {-1.0, 1.0}
    dense = read_topology(WL / "neurosim_vgg8.csv")[6]
    xf, wf = random_operands(dense, 16, 0.25, levels="float", seed=1)
    assert xf.shape == (16, 8192) and wf.shape == (8192, 1024)
    assert abs(np.count_nonzero(wf) / wf.size - 0.25) < 0.01
    with pytest.raises(ValueError, match="levels"):
        random_operands(conv, 1, 0.5, levels="quaternary")
    with pytest.raises(ValueError, match="density"):
        random_operands(conv, 1, 1.5)
