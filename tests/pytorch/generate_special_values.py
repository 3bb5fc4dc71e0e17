#!/usr/bin/env -S /usr/bin/python3
"""PyTorch reference data for special values: NaN, infinities and huge finite numbers.

Each case is a small module or cell (H_in 5, H 4, L 4, N 3) built and filled exactly as
generate_reference.py does (default init, randn input and state, fixed seed per case id),
then edited: one value of the input, of h0/c0 or of a parameter is set to NaN, +inf, -inf
or +-1e30, and PyTorch 1.13 runs the edited module in eval mode under no_grad.

What it writes (into tests/Recurrent.Tests/ReferenceData/special/, overwriting):
  * <case_id>.safetensors   the same per-case format as generate_reference.py's top-level
                            cases: `param.<name>` (the edited state_dict), `input`, optional
                            `h0`/`c0`, expected `output`/`h_n`/`c_n` (layers) or
                            `h_out`/`c_out` (cells); config in `__metadata__`, whose
                            `description` ends with the edits ("Edits: input[1,0,2]=nan").
Cases, for each of rnn_tanh, rnn_relu, gru, lstm (layers: L 4, N 3):
  _nan_input         NaN at one step and feature of batch entry 0, no initial state
  _inf_input         +inf in entry 0 and -inf in entry 1 (entry 2 clean), random h0
  _nan_w_ih          NaN in one element of weight_ih_l0
  _nan_w_hh          NaN in one element of weight_hh_l0, zero initial state (0 * NaN)
  _nan_bias          NaN in one element of bias_ih_l0 (GRU: bias_hh_l0 in the n chunk, b_hn)
  _inf_w_ih          +inf in one element of weight_ih_l0 (gates saturate; relu overflows)
  _large_input       +-1e30 in the input: sigmoid/tanh saturate, relu stays finite
  _inf_state         +-inf in h0 (LSTM: and in c0)
plus gru_bidir_nan_input, gru_2layer_inf_w_hh_l1_h0, lstm_bidir_inf_input,
lstm_2layer_inf_state; for each of rnncell_tanh, grucell, lstmcell (N 3, random state
unless said): _nan_inf_input (NaN / +inf / -inf in batch rows 0 / 1 / 2), _nan_weights
(NaN in weight_ih, weight_hh and a bias, each feeding a different hidden unit), _inf_w_ih,
_large_input (zero state), _inf_state; and rnncell_relu_nan_inf_input.

Folded biases (--folded-bias DIR, written to DIR, never to ReferenceData/special/):
b_ih = 3e38 and b_hh = -3e38 on one gate row. PyTorch adds them separately
((x W_ih^T + b_ih) + (h W_hh^T + b_hh): the huge terms cancel exactly, the pre-activation
is 0); a library that pre-sums b_ih + b_hh = 0 gets x W_ih^T + h W_hh^T instead. These
cases document that known difference; the library is not meant to match them.

How to run (needs torch + numpy; imports generate_reference.py from this folder):
    /usr/bin/python3 tests/pytorch/generate_special_values.py            # write files
    /usr/bin/python3 tests/pytorch/generate_special_values.py --verify   # write, then re-read
                                                                         # and check every file
    /usr/bin/python3 tests/pytorch/generate_special_values.py --folded-bias /tmp/folded
The C# tests (PyTorchSpecialValueTests) only read the committed files; they never need Python.
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import generate_reference as g  # noqa: E402

SPECIAL_SUBDIR = "special"
OUT_DIR = os.path.join(g.OUT_DIR, SPECIAL_SUBDIR)
MIN_CASES = 40

NAN, INF, BIG = float("nan"), float("inf"), 1e30
STATES = ("input", "h0", "c0")

# (case_id, meta, batch, seq_len, edits); an edit is (target, index, value) with target
# "input", "h0", "c0" or a state_dict name, and index a tuple of ints.
SPECS = []
FOLDED_SPECS = []


def edit_str(edit):
    target, index, value = edit
    v = "nan" if math.isnan(value) else ("inf" if value == INF else "-inf" if value == -INF
                                         else f"{value:g}")
    return f"{target}[{','.join(str(i) for i in index)}]={v}"


def add(case_id, module, edits, description, batch=3, seq_len=4, specs=None, **cfg):
    cfg.setdefault("input_size", 5)
    cfg.setdefault("hidden_size", 4)
    desc = f"{description} Edits: {'; '.join(edit_str(e) for e in edits)}."
    meta = g.config_meta(module, description=desc, **cfg)
    (SPECS if specs is None else specs).append((case_id, meta, batch, seq_len, edits))


def define_cases():
    layers = [("rnn_tanh", "RNN", "tanh", "RNN(tanh)"), ("rnn_relu", "RNN", "relu", "RNN(relu)"),
              ("gru", "GRU", "tanh", "GRU"), ("lstm", "LSTM", "tanh", "LSTM")]
    for p, mod, nl, name in layers:
        gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[mod]
        h = 4
        common = dict(nonlinearity=nl)
        add(f"{p}_nan_input", mod, [("input", (1, 0, 2), NAN)],
            f"{name}, L 4, N 3, no initial state: NaN in the input at step 1, batch entry 0, feature 2; "
            "entries 1 and 2 stay finite.", **common)
        add(f"{p}_inf_input", mod, [("input", (1, 0, 0), INF), ("input", (2, 1, 3), -INF)],
            f"{name}, L 4, N 3, random h0: +inf in entry 0 at step 1, -inf in entry 1 at step 2; "
            "entry 2 clean.", has_state=True, **common)
        add(f"{p}_nan_w_ih", mod, [("weight_ih_l0", (1, 3), NAN)],
            f"{name}, L 4, N 3, random h0: NaN in weight_ih_l0 (row 1 = unit 1 of the first gate).",
            has_state=True, **common)
        add(f"{p}_nan_w_hh", mod, [("weight_hh_l0", (gates * h - 1, 2), NAN)],
            f"{name}, L 4, N 3, no initial state: NaN in weight_hh_l0 (last row); PyTorch computes "
            "0 * NaN = NaN at step 0 too.", **common)
        if mod == "GRU":
            add(f"{p}_nan_bias", mod, [("bias_hh_l0", (2 * h + 1,), NAN)],
                f"{name}, L 4, N 3, random h0: NaN in bias_hh_l0 at unit 1 of the n chunk (b_hn, "
                "the bias multiplied by r).", has_state=True, **common)
        else:
            add(f"{p}_nan_bias", mod, [("bias_ih_l0", (gates * h - 2,), NAN)],
                f"{name}, L 4, N 3, random h0: NaN in bias_ih_l0 (second-to-last row).",
                has_state=True, **common)
        add(f"{p}_inf_w_ih", mod, [("weight_ih_l0", (h + 2 if gates > 1 else 2, 1), INF)],
            f"{name}, L 4, N 3, random h0: +inf in weight_ih_l0 (unit 2 of the second gate for GRU/LSTM), "
            "so that gate pre-activation is +-inf by the sign of input feature 1.",
            has_state=True, **common)
        add(f"{p}_large_input", mod,
            [("input", (0, 0, f), BIG) for f in range(5)] +
            [("input", (1, 1, 1), -BIG), ("input", (2, 2, 0), BIG), ("input", (2, 2, 3), -BIG)],
            f"{name}, L 4, N 3, random h0: huge finite inputs (all of entry 0 at step 0 = 1e30, "
            "single features +-1e30 elsewhere): gates saturate without overflow.",
            has_state=True, **common)
        if mod == "LSTM":
            add(f"{p}_inf_state", mod,
                [("h0", (0, 0, 1), INF), ("c0", (0, 1, 2), INF), ("c0", (0, 2, 0), -INF)],
                f"{name}, L 4, N 3: +inf in h0 of entry 0, +inf and -inf in c0 of entries 1 and 2.",
                has_state=True, **common)
        else:
            add(f"{p}_inf_state", mod, [("h0", (0, 0, 0), INF), ("h0", (0, 1, 3), -INF)],
                f"{name}, L 4, N 3: +inf in h0 of entry 0, -inf in h0 of entry 1; entry 2 clean.",
                has_state=True, **common)

    add("gru_bidir_nan_input", "GRU", [("input", (2, 1, 4), NAN)],
        "GRU, bidirectional, L 4, N 3, no initial state: NaN at step 2 of entry 1 reaches steps 2-3 "
        "forward and 0-2 in reverse.", bidirectional=True)
    add("gru_2layer_inf_w_hh_l1_h0", "GRU", [("weight_hh_l1", (5, 0), INF)],
        "GRU, 2 layers, L 4, N 3, random h0: +inf in weight_hh_l1 (z gate, unit 1 of layer 1).",
        num_layers=2, has_state=True)
    add("lstm_bidir_inf_input", "LSTM", [("input", (0, 0, 1), INF), ("input", (3, 2, 4), -INF)],
        "LSTM, bidirectional, L 4, N 3, random h0/c0: +inf at step 0 of entry 0, -inf at step 3 of "
        "entry 2.", bidirectional=True, has_state=True)
    add("lstm_2layer_inf_state", "LSTM",
        [("h0", (0, 0, 3), -INF), ("c0", (1, 1, 0), INF), ("h0", (1, 2, 2), INF)],
        "LSTM, 2 layers, L 4, N 3: -inf in h0 of layer 0 (entry 0), +inf in c0 and h0 of layer 1 "
        "(entries 1 and 2).", num_layers=2, has_state=True)

    cells = [("rnncell_tanh", "RNNCell", "tanh", "RNNCell(tanh)", 1),
             ("grucell", "GRUCell", "tanh", "GRUCell", 3), ("lstmcell", "LSTMCell", "tanh", "LSTMCell", 4)]
    for p, mod, nl, name, gates in cells:
        h = 4
        add(f"{p}_nan_inf_input", mod,
            [("input", (0, 2), NAN), ("input", (1, 0), INF), ("input", (2, 4), -INF)],
            f"{name}, N 3, random state: NaN in row 0, +inf in row 1, -inf in row 2 of the input.",
            has_state=True, nonlinearity=nl)
        # Rows chosen so that each NaN feeds a different hidden unit; unit 3 stays finite.
        # LSTM: i of unit 0, f of unit 1, o of unit 2 (c' stays finite there); GRU: r of
        # unit 0, z of unit 1, b_hn of unit 2; RNN: units 0, 1, 2.
        rows = {1: (0, 1, 2), 3: (0, h + 1, 2 * h + 2), 4: (0, h + 1, 3 * h + 2)}[gates]
        bias = "bias_hh" if gates == 3 else "bias_ih"
        add(f"{p}_nan_weights", mod,
            [("weight_ih", (rows[0], 4), NAN), ("weight_hh", (rows[1], 0), NAN), (bias, (rows[2],), NAN)],
            f"{name}, N 3, random state: NaN in weight_ih, weight_hh and {bias}, each in a row of a "
            "different hidden unit.", has_state=True, nonlinearity=nl)
        add(f"{p}_inf_w_ih", mod, [("weight_ih", (gates * h - 1, 3), INF)],
            f"{name}, N 3, random state: +inf in the last row of weight_ih.",
            has_state=True, nonlinearity=nl)
        add(f"{p}_large_input", mod,
            [("input", (0, f), BIG) for f in range(5)] + [("input", (1, 2), -BIG), ("input", (2, 0), BIG)],
            f"{name}, N 3, zero state: huge finite inputs (row 0 all 1e30, -1e30 and 1e30 in rows 1, 2).",
            nonlinearity=nl)
        edits = [("h0", (0, 1), INF), ("h0", (1, 3), -INF)]
        if mod == "LSTMCell":
            edits += [("c0", (1, 0), INF), ("c0", (2, 2), -INF)]
        add(f"{p}_inf_state", mod, edits,
            f"{name}, N 3: infinities in the state ({'h0 and c0' if mod == 'LSTMCell' else 'h0'}).",
            has_state=True, nonlinearity=nl)
    add("rnncell_relu_nan_inf_input", "RNNCell",
        [("input", (0, 2), NAN), ("input", (1, 0), INF), ("input", (2, 4), -INF)],
        "RNNCell(relu), N 3, random state: NaN in row 0, +inf in row 1, -inf in row 2 of the input.",
        has_state=True, nonlinearity="relu")


def define_folded_bias_cases():
    big = 3e38
    for p, mod, row, name in [("rnn_tanh", "RNN", 1, "RNN(tanh)"), ("gru", "GRU", 5, "GRU (z gate, unit 1)"),
                              ("lstm", "LSTM", 5, "LSTM (f gate, unit 1)")]:
        add(f"folded_bias_{p}", mod, [("bias_ih_l0", (row,), big), ("bias_hh_l0", (row,), -big)],
            f"{name}, L 4, N 3, random h0: b_ih = 3e38 and b_hh = -3e38 on one row. PyTorch adds them "
            "separately so they cancel exactly (pre-activation 0); pre-summing them gives x W_ih + h W_hh.",
            has_state=True, specs=FOLDED_SPECS)
    add("folded_bias_lstmcell", "LSTMCell", [("bias_ih", (2,), big), ("bias_hh", (2,), -big)],
        "LSTMCell, N 3, random state: b_ih = 3e38 and b_hh = -3e38 on the i gate of unit 2.",
        has_state=True, specs=FOLDED_SPECS)


def make_special_case(case_id, meta, batch, seq_len, edits):
    """generate_reference's module and inputs for this case id, edited, then run by PyTorch."""
    model, inputs, _ = g.make_case(case_id, meta, batch, seq_len)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for target, index, value in edits:
            (inputs[target] if target in STATES else params[target])[index] = value
    return model, inputs, g.run(model, meta, inputs)


def case_tensors(model, inputs, outputs):
    tensors = {f"param.{k}": v for k, v in model.state_dict().items()}
    tensors.update(inputs)
    tensors.update(outputs)
    return tensors


def census(t):
    """'3 nan, 1 +inf' style count of the special values in t ('finite' if none)."""
    parts = [(int(torch.isnan(t).sum()), "nan"), (int((t == INF).sum()), "+inf"),
             (int((t == -INF).sum()), "-inf")]
    return ", ".join(f"{n} {k}" for n, k in parts if n) or "finite"


def write_cases(out_dir, specs):
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for case_id, meta, batch, seq_len, edits in specs:
        model, inputs, outputs = make_special_case(case_id, meta, batch, seq_len, edits)
        tensors = case_tensors(model, inputs, outputs)
        fname = f"{case_id}.safetensors"
        n = g.write_safetensors(os.path.join(out_dir, fname), tensors, meta)
        written[fname] = (meta, edits, {k: v.detach().clone() for k, v in tensors.items()})
        summary = "  ".join(f"{k}: {census(v)}" for k, v in outputs.items())
        print(f"{fname:40s} {n:6d} B  {summary}")
    print(f"{len(written)} files -> {out_dir}")
    return written


def do_verify(out_dir, written):
    on_disk = sorted(f for f in os.listdir(out_dir) if f.endswith(".safetensors"))
    assert on_disk == sorted(written), f"stale/missing files: {set(on_disk) ^ set(written)}"
    assert len(written) >= MIN_CASES, f"only {len(written)} cases (at least {MIN_CASES} expected)"
    for fname, (meta, edits, tensors) in sorted(written.items()):
        rmeta, rt = g.read_safetensors(os.path.join(out_dir, fname))
        assert rmeta == meta, f"{fname}: metadata differs"
        assert sorted(rt) == sorted(tensors), f"{fname}: tensor names differ"
        for k in tensors:
            assert g.same(rt[k], tensors[k]), f"{fname}:{k}: values differ"
        # Every edit is in the file, bit for bit the value asked for.
        for target, index, value in edits:
            got = float(rt[target if target in STATES else "param." + target][index])
            want = float(torch.tensor(value, dtype=torch.float32))
            assert (math.isnan(got) and math.isnan(want)) or got == want, \
                f"{fname}: {edit_str((target, index, value))} not in the file (found {got})"
        # Independent re-run: rebuild the module from the file alone and recompute.
        model = g.build_module(rmeta).eval()
        model.load_state_dict({k[6:]: v for k, v in rt.items() if k.startswith("param.")}, strict=True)
        ins = {k: rt[k] for k in STATES if k in rt}
        assert ("h0" in ins) == (rmeta["has_state"] == "true"), f"{fname}: has_state"
        outs = g.run(model, rmeta, ins)
        assert sorted(rt) == sorted([k for k in rt if k.startswith("param.")] + list(ins) + list(outs)), \
            f"{fname}: unexpected tensor names"
        for k, v in outs.items():
            assert g.same(v, rt[k]), f"{fname}:{k}: re-run differs"
    print(f"verify: OK ({len(written)} files in {out_dir})")


def main(argv):
    if "--folded-bias" in argv:
        out_dir = argv[argv.index("--folded-bias") + 1]
        assert os.path.abspath(out_dir) != os.path.abspath(OUT_DIR), "folded-bias cases stay out of special/"
        define_folded_bias_cases()
        written = write_cases(out_dir, FOLDED_SPECS)
        if "--verify" in argv:
            do_verify_folded(out_dir, written)
        return
    define_cases()
    written = write_cases(OUT_DIR, SPECS)
    if "--verify" in argv:
        do_verify(OUT_DIR, written)


def do_verify_folded(out_dir, written):
    for fname, (meta, edits, tensors) in sorted(written.items()):
        _, rt = g.read_safetensors(os.path.join(out_dir, fname))
        for k in tensors:
            assert g.same(rt[k], tensors[k]), f"{fname}:{k}: values differ"
    print(f"verify: OK ({len(written)} folded-bias files in {out_dir})")


if __name__ == "__main__":
    main(sys.argv[1:])
