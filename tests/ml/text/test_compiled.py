"""The background-compiled decode step (ml/text/compiled.py, ml/text/aot_step.py): off unless
switched on, built in a child process, loaded on its own thread when the model is quiet, the
same logits as the eager step, one package for every cache length and position, and
generations that use it give the same text as eager ones without running the eager step."""

from __future__ import annotations

import contextlib
import os
import sys
import threading

import pytest
import torch
from gguf import GGMLQuantizationType as T

from desktop_app.core.sampling import SamplerSettings
from desktop_app.ml.text import aot_step, compiled, int4, llama
from desktop_app.ml.text.generate import Generation
from desktop_app.ml.text.loader import load_text_model
from gguf_fixtures import write_tiny_gguf

needs_int4 = pytest.mark.skipif(not int4.kernels()["int4"], reason="no int4 kernel on this CPU")


@pytest.fixture
def compile_on(monkeypatch, tmp_path):
    if os.environ.get("ATEN_CPU_CAPABILITY"):   # the AVX2 fallback check of the whole suite
        pytest.skip("a forced ATen ISA keeps decoding eager (compiled.supported; tested above)")
    monkeypatch.delenv("REVERIE_NO_COMPILE", raising=False)
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    compiled.set_enabled(True)
    yield
    compiled.set_enabled(True)


def test_switched_off_means_no_thread(tmp_path, monkeypatch):
    path = tmp_path / "tiny.gguf"
    write_tiny_gguf(path, layers=1)
    lm = load_text_model(path, precision="fp32")
    monkeypatch.setenv("REVERIE_NO_COMPILE", "1")
    assert not lm.start_compile() and lm.compiler.state == "idle"
    monkeypatch.delenv("REVERIE_NO_COMPILE")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")  # a forced ISA: the compiled graph crashed
    assert not lm.start_compile()
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    compiled.set_enabled(False)
    try:
        assert not lm.start_compile()
    finally:
        compiled.set_enabled(True)
    cache = lm.model.new_cache(1, 8)
    with torch.inference_mode():  # not ready: the caller keeps the eager path
        assert lm.compiler.step(torch.zeros((1, 1), dtype=torch.long), cache, 0) is None


@needs_int4
@pytest.mark.timeout(1200)  # two compiles (the child's at nice 19): minutes on a loaded machine
def test_compiled_step_matches_eager_without_recompiling(tmp_path, compile_on):
    path = tmp_path / "tiny.gguf"
    write_tiny_gguf(path, qtype=T.Q4_1, layers=2)
    lm = load_text_model(path, precision="int4")
    assert lm.start_compile()
    assert lm.compiler.state == "compiling"  # returns at once; the thread compiles
    assert lm.compiler.wait(600), lm.compiler.error
    assert not any(t.name == "reverie-compile" for t in threading.enumerate())
    # the step was built in a child process, which left the package for the next load
    assert compiled.package_path(lm.model).exists()
    m, ids = lm.model, torch.tensor([[5, 9, 13, 2, 7, 30]])
    with torch.inference_mode():
        for cap in (16, 300):  # other cache lengths and positions than the warm-up's
            cache = m.new_cache(1, cap)
            m(ids[:, :5], cache, 0)
            got = lm.compiler.step(ids[:, 5:], cache, 5)
            ref = m(ids[:, 5:], cache, 5)[:, -1]
            assert got is not None and got.shape == ref.shape
            assert torch.allclose(got, ref, atol=0.05 * float(ref.abs().max()))
            assert int(got.argmax()) == int(ref.argmax())
        m.ensure_rope(5000)  # RoPE tables regrown by a long generation: the same package
        cache = m.new_cache(1, 3000)
        assert lm.compiler.step(ids[:, :1], cache, 2500) is not None
    settings = SamplerSettings(seed=3, temperature=0.0)
    with _counting_calls(llama._attend) as attend_calls:
        with_compiled = Generation(lm, [5, 9, 13], settings, max_tokens=12).run()[0]
    # only the prompt ran eagerly (one attention per layer): every decode step went through
    # the compiled graph. The loop's step ids are a normal tensor, which failed the graph's
    # guard and silently ran every step eagerly until compiled.step made them inference ones.
    assert attend_calls[0] == m.config.num_hidden_layers
    lm.compiler = None
    eager = Generation(lm, [5, 9, 13], settings, max_tokens=12).run()[0]
    assert with_compiled.token_ids == eager.token_ids


@contextlib.contextmanager
def _counting_calls(fn):
    """Count Python-level calls of ``fn`` (a compiled graph makes none)."""
    calls, code = [0], fn.__code__

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is code:
            calls[0] += 1

    old = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(old)


def test_child_failure_is_one_line(tmp_path, compile_on):
    marker = tmp_path / "marker"
    with pytest.raises(RuntimeError) as err:
        compiled.warm_in_child(str(tmp_path / "missing.gguf"), "int4", 1, marker)
    assert str(err.value).startswith("the compile process failed: ")
    assert "\n" not in str(err.value) and not marker.exists()


def test_in_process_compile_waits_for_the_running_generation(tmp_path, compile_on, monkeypatch):
    """Neither the building process nor the package's load runs while text streams: a
    compile started mid-generation starts only once the generation has ended."""
    path = tmp_path / "tiny.gguf"
    write_tiny_gguf(path, layers=1)
    lm = load_text_model(path, precision="fp32")
    children, loaded = [], []
    monkeypatch.setattr(compiled, "warm_in_child", lambda *a, **k: children.append(a))
    monkeypatch.setattr(aot_step, "load", lambda package, model: loaded.append(model) or (
        lambda inputs: None))
    monkeypatch.setattr(aot_step, "check", lambda model, run: None)
    monkeypatch.setattr(compiled, "QUIET_S", 0.0)
    steps = Generation(lm, [5, 9, 13], SamplerSettings(seed=3), max_tokens=6).steps()
    next(steps)  # the generation is running (suspended between two tokens)
    assert lm.start_compile()
    lm.compiler._thread.join(timeout=0.5)  # time to reach the compile if it did not wait
    assert lm.compiler.state == "compiling" and loaded == [] and children == []
    for _ in steps:  # the generation ends: the compile goes on
        pass
    assert lm.compiler.wait(60) and loaded == [lm.model] and len(children) == 1


def test_a_package_that_does_not_work_is_not_built_again(tmp_path, compile_on, monkeypatch):
    """A package whose step differs from the eager one is removed and remembered as failed:
    the next load stays eager at once instead of building it again (a minute of CPU)."""
    path = tmp_path / "tiny.gguf"
    write_tiny_gguf(path, layers=1)
    monkeypatch.setattr(compiled, "QUIET_S", 0.0)
    builds = []

    def fake_child(src, precision, threads, package):
        builds.append(package)
        package.parent.mkdir(parents=True, exist_ok=True)
        package.write_bytes(b"not a package")

    monkeypatch.setattr(compiled, "warm_in_child", fake_child)
    lm = load_text_model(path, precision="fp32")
    assert lm.start_compile() and not lm.compiler.wait(60)
    assert lm.compiler.state == "failed" and len(builds) == 1
    package = compiled.package_path(lm.model)
    assert not package.exists() and package.with_suffix(".failed").exists()
    again = load_text_model(path, precision="fp32")
    assert again.start_compile() and not again.compiler.wait(60)
    assert "did not work before" in again.compiler.error and len(builds) == 1


def test_the_load_check_tells_a_wrong_step_from_a_right_one(tmp_path):
    """``aot_step.check`` passes a step that gives the eager logits, or those logits shifted
    (no probability changes) or rounded to bf16, and refuses one that is off by more than
    rounding: a constant off by half, or another model's weights handed to the library."""
    path = tmp_path / "tiny.gguf"
    write_tiny_gguf(path, layers=1)
    model = load_text_model(path, precision="fp32").model

    def eager(inputs):
        ids, marker, cos, sin, *kv = inputs
        return aot_step.DecodeStep(model)(ids, marker, cos, sin, *kv)

    aot_step.check(model, eager)
    aot_step.check(model, lambda inputs: eager(inputs) + 3.0)
    aot_step.check(model, lambda inputs: eager(inputs).bfloat16().float())
    with pytest.raises(RuntimeError, match="differ from the eager step"):
        aot_step.check(model, lambda inputs: eager(inputs) * 1.5 + 1.0)
    other_path = tmp_path / "other.gguf"
    write_tiny_gguf(other_path, layers=1, seed=1)
    other = load_text_model(other_path, precision="fp32").model
    with pytest.raises(RuntimeError, match="differ from the eager step"):
        aot_step.check(model, lambda inputs: aot_step.DecodeStep(other)(*inputs))


def test_only_the_packages_used_lately_are_kept(tmp_path):
    """Every model shape and every adapter gets a compiled package of its own: the cache keeps
    the ones used most recently (a package is marked when it is loaded), each deleted one goes
    with its library and failure note, and a package another window is still writing is left
    alone."""
    packages = []
    for i in range(5):
        pkg = tmp_path / f"p{i}.pt2"
        for f in (pkg, pkg.with_suffix(".so"), pkg.with_suffix(".failed")):
            f.write_bytes(b"x")
            os.utime(f, (1000 + i, 1000 + i))
        packages.append(pkg)
    building = tmp_path / "p9.1234.partial.pt2"
    building.write_bytes(b"x")
    os.utime(building, (1, 1))
    compiled.touch_package(packages[0])          # the oldest, just used
    gone = compiled.prune_packages(tmp_path, keep=2)
    assert sorted(gone) == packages[1:4]
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted(
        ["p0.pt2", "p0.so", "p0.failed", "p4.pt2", "p4.so", "p4.failed", building.name])
    assert packages[0].with_suffix(".so").stat().st_mtime >= packages[0].stat().st_mtime
    assert compiled.prune_packages(tmp_path / "absent") == []


def test_pruning_keeps_only_the_newest_notes_of_packages_that_failed(tmp_path):
    """A package that failed is deleted and leaves a note (so that it is not built again):
    those notes are pruned to the newest ``keep`` as well, the ones beside a kept package
    aside."""
    notes = []
    for i in range(5):
        note = tmp_path / f"f{i}.failed"
        note.write_text("RuntimeError: did not work")
        os.utime(note, (1000 + i, 1000 + i))
        notes.append(note)
    kept = tmp_path / "k.pt2"
    for f in (kept, kept.with_suffix(".failed")):
        f.write_bytes(b"x")
        os.utime(f, (1, 1))
    compiled.prune_packages(tmp_path, keep=2)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["f3.failed", "f4.failed",
                                                          "k.failed", "k.pt2"]
