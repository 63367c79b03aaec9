"""LoRA fine-tuning: ``train text --lora`` end to end on a tiny seeded base, PEFT's loader on
the saved folder, resume, merge, continuing an adapter, and small-data acceptance/refusal
(the adapter layer alone: test_lora_layer.py; the task without a CLI run: test_lora_task.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from desktop_app.cli import main
from desktop_app.ml import checkpoints as ck
from desktop_app.ml.text import lora
from training_helpers import story, write_corpus

BASE_FAST = ["--size", "test", "--batch-size", "4", "--eval-batches", "2", "--threads", "1",
             "--vocab-size", "300", "--context", "32", "--warmup", "2"]
LORA_FAST = ["--lora", "--threads", "1", "--context", "32", "--batch-size", "4",
             "--no-bf16", "--progress", "json", "--lora-rank", "4", "--lora-alpha", "16",
             "--warmup", "1"]


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    """A tiny Llama model folder (trained 6 steps from scratch: tokenizer + weights)."""
    tmp = tmp_path_factory.mktemp("base")
    data = write_corpus(tmp / "data")
    out = tmp / "base"
    assert main(["train", "text", "--data", str(data), "--out", str(out), "--steps", "6",
                 "--progress", "json", *BASE_FAST]) == 0
    return out


def test_train_text_lora_end_to_end_peft_resume_and_merge(base_dir, tmp_path, capsys,
                                                          monkeypatch):
    data = tmp_path / "mine"
    data.mkdir()
    (data / "notes.txt").write_text(story(7, 120), encoding="utf-8")
    out = tmp_path / "adapter"
    argv = ["train", "text", "--init-from", str(base_dir), "--data", str(data), "--out",
            str(out), "--steps", "6", "--eval-every", "3", "--checkpoint-every", "3",
            "--lr", "0.01", "--lora-dropout", "0.1", *LORA_FAST]
    capsys.readouterr()
    assert main(argv) == 0
    events = _json_lines(capsys.readouterr().out)
    start = next(e for e in events if e["kind"] == "start")
    assert "fine-tuning" in start["message"] and "from scratch" not in start["message"]
    evals = [e for e in events if e["kind"] == "eval"]
    assert evals[0]["step"] == 0 and evals[-1]["step"] == 6
    assert all(e["bits_per_byte"] > 0 for e in evals)
    assert evals[-1]["bits_per_byte"] < evals[0]["bits_per_byte"]  # held-out improves
    samples = [e for e in events if e["kind"] == "sample"]
    assert samples[0]["step"] == 0 and samples[-1]["step"] == 6
    for name in ("adapter_config.json", "adapter_model.safetensors", "MODEL_CARD.md"):
        assert (out / name).is_file(), name
    card = (out / "MODEL_CARD.md").read_text()
    assert "before fine-tuning" in card and "After (the adapter of step " in card
    assert "peak learning rate 0.01," in card
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["peft_type"] == "LORA" and cfg["r"] == 4 and cfg["lora_dropout"] == 0.1
    assert cfg["base_model_name_or_path"] == str(base_dir.resolve())
    # checkpoints hold only the adapters
    ckpt = ck.load_tensors(next((out / "checkpoints").glob("step-*")) / "model.safetensors")
    assert ckpt and all("lora_" in k for k in ckpt)

    # Reverie loads the folder as base + adapter; PEFT on transformers gives the same logits
    from desktop_app.ml.text.loader import load_text_model
    lm = load_text_model(out)
    assert lm.name == "adapter"
    ids = torch.tensor([lm.tokenizer.encode("Anna found the moon.", add_special_tokens=False)])
    ours = lm.model(ids)
    base_logits = load_text_model(base_dir).model(ids)
    assert not torch.allclose(ours, base_logits, atol=1e-4)  # the adapter changes the model
    # at int8 the base keeps its packed weights and the adapter runs on the fly: the adapter's
    # change survives whole (merged and requantized, it was mostly lost on SmolLM2 at int4);
    # kept whole here (what compressing it keeps: test_lora_layer.py)
    monkeypatch.setattr(lora, "ON_THE_FLY_ENERGY", 1.0)
    q = load_text_model(out, precision="int8")
    assert any(isinstance(m, lora.LowRankAdded) for m in q.model.modules())
    change_q = q.model(ids).float() - load_text_model(base_dir, precision="int8").model(ids)
    assert torch.allclose(change_q, ours - base_logits, atol=0.05 * (ours - base_logits).abs()
                          .max().item() + 1e-3)
    peft = pytest.importorskip("peft")
    transformers = pytest.importorskip("transformers")
    hf = transformers.LlamaForCausalLM.from_pretrained(str(base_dir)).eval()
    pm = peft.PeftModel.from_pretrained(hf, str(out)).eval()
    with torch.no_grad():
        theirs = pm(input_ids=ids).logits
    assert torch.allclose(ours, theirs, atol=1e-4), (ours - theirs).abs().max()

    # the commands and the model pickers take the adapter folder like any model
    from desktop_app.core.model_registry import describe_model
    info = describe_model(out, "text", "user")
    assert not info.problem and "LoRA adapter on" in info.attribution
    capsys.readouterr()
    assert main(["generate", "text", "--model", str(out), "--prompt", "Anna found",
                 "--max-tokens", "3", "--temperature", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["name"] == "adapter"

    # resume to more steps continues from the checkpoint
    argv[argv.index("--steps") + 1] = "8"
    assert main([*argv, "--resume"]) == 0
    events = _json_lines(capsys.readouterr().out)
    assert next(e for e in events if e["kind"] == "start")["step"] == 6
    assert events[-1]["kind"] == "done" and events[-1]["step"] == 8

    # --merge-to writes a plain model folder with the same logits
    from desktop_app.ml.text.adapter import merge_to_folder
    merged = merge_to_folder(out, tmp_path / "merged")
    assert not (merged / "adapter_config.json").exists()
    again = load_text_model(out).model(ids)
    assert torch.allclose(load_text_model(merged).model(ids), again, atol=1e-5)


def test_time_budget_ends_with_a_checkpoint_and_the_adapter(base_dir, tmp_path, capsys):
    data = tmp_path / "mine"
    data.mkdir()
    (data / "notes.txt").write_text(story(3, 80), encoding="utf-8")
    out = tmp_path / "adapter"
    capsys.readouterr()
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(data), "--out",
                 str(out), "--steps", "100000", "--max-minutes", "0.0001", *LORA_FAST]) == 0
    events = _json_lines(capsys.readouterr().out)
    done = events[-1]
    assert done["kind"] == "done" and done["step"] < 100000
    assert "time budget" in done["message"]
    assert any(e["kind"] == "checkpoint" for e in events)
    assert (out / "adapter_model.safetensors").is_file()


def test_small_text_is_accepted_and_tiny_or_binary_text_refused(base_dir, tmp_path, capsys):
    small = tmp_path / "small"
    small.mkdir()
    text = story(5, 60)
    assert 2000 <= len(text.encode()) < 4000
    (small / "mine.txt").write_text(text, encoding="utf-8")
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(small),
                 "--out", str(tmp_path / "a"), "--steps", "2", *LORA_FAST]) == 0
    assert "little text" in capsys.readouterr().out
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    (tiny / "mine.txt").write_text(story(5, 8)[:600], encoding="utf-8")
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(tiny),
                 "--out", str(tmp_path / "b"), *LORA_FAST]) == 2
    err = capsys.readouterr().err
    assert "at least 1,000 bytes" in err and "Traceback" not in err
    binary = tmp_path / "bin"
    binary.mkdir()
    (binary / "x.txt").write_bytes(b"\x00\x01" * 2000)
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(binary),
                 "--out", str(tmp_path / "c"), *LORA_FAST]) != 0
    assert "no usable text" in capsys.readouterr().err


def test_lora_needs_a_base_and_bad_adapters_are_refused(tmp_path, capsys):
    assert main(["train", "text", "--lora", "--data", str(tmp_path), "--out",
                 str(tmp_path / "o")]) == 2
    assert "--init-from" in capsys.readouterr().err
    (tmp_path / "ad").mkdir()
    (tmp_path / "ad" / "adapter_config.json").write_text('{"peft_type": "PREFIX_TUNING"}')
    from desktop_app.core.errors import ModelLoadError
    from desktop_app.ml.text.loader import load_text_model
    with pytest.raises(ModelLoadError, match="not a LoRA adapter"):
        load_text_model(tmp_path / "ad")
    (tmp_path / "ad" / "adapter_config.json").write_text(json.dumps(
        lora.adapter_config(4, 8, "no-such-model-anywhere")))
    with pytest.raises(ModelLoadError, match="not installed"):
        load_text_model(tmp_path / "ad")


def test_training_on_from_an_adapter_continues_it_as_a_new_adapter_on_the_same_base(
        base_dir, tmp_path, capsys):
    """`--init-from` an adapter folder continues that adapter (its rank, scale and blocks) on
    new text: the run starts from exactly its figure, and the result is an adapter on the
    same base that Reverie and PEFT load — not an adapter on an adapter (which neither could
    load, and which the command used to write after minutes of training)."""
    first = tmp_path / "first"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.txt").write_text(story(7, 120), encoding="utf-8")
    capsys.readouterr()
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(tmp_path / "a"),
                 "--out", str(first), "--steps", "3", "--lr", "0.01", "--lora-layers", "1",
                 *LORA_FAST]) == 0
    more = tmp_path / "more"
    more.mkdir()
    (more / "a.txt").write_text(story(21, 120), encoding="utf-8")
    (more / "b.txt").write_text(story(22, 40), encoding="utf-8")
    (tmp_path / "val.txt").write_text("b.txt\n", encoding="utf-8")
    second = tmp_path / "second"
    at = LORA_FAST.index("--lora-rank")   # the adapter's own rank and alpha, unsaid
    flags = LORA_FAST[:at] + LORA_FAST[at + 4:]

    def argv(start: Path, out: Path, *extra: str) -> list[str]:
        return ["train", "text", "--init-from", str(start), "--data", str(more), "--val-list",
                str(tmp_path / "val.txt"), "--out", str(out), "--steps", "2", "--eval-every",
                "1", "--lr", "0.01", *flags, *extra]

    capsys.readouterr()
    assert main(argv(first, second)) == 0
    events = _json_lines(capsys.readouterr().out)
    assert "from the adapter first" in next(e for e in events if e["kind"] == "start")["message"]
    evals = [e["bits_per_byte"] for e in events if e["kind"] == "eval"]
    # the evaluation before the first step is the adapter continued, as `reverie eval text`
    # scores it, and not the base's figure
    assert evals[0] == pytest.approx(_eval_bpb(first, more / "b.txt", capsys, None), rel=1e-6)
    assert evals[0] != pytest.approx(_eval_bpb(base_dir, more / "b.txt", capsys, None),
                                     rel=1e-6)
    cfg, old = (json.loads((d / "adapter_config.json").read_text()) for d in (second, first))
    assert cfg["base_model_name_or_path"] == str(base_dir.resolve())
    assert (cfg["r"], cfg["lora_alpha"], cfg["layers_to_transform"]) == (4, 16, [1]) == (
        old["r"], old["lora_alpha"], old["layers_to_transform"])
    card = (second / "MODEL_CARD.md").read_text()
    assert "continued from the adapter first" in card and "at the start (the adapter first" in card
    from desktop_app.ml.text.loader import load_text_model
    lm = load_text_model(second)    # base + the new adapter
    ids = torch.tensor([lm.tokenizer.encode("Anna found the moon.", add_special_tokens=False)])
    peft = pytest.importorskip("peft")
    transformers = pytest.importorskip("transformers")
    hf = transformers.LlamaForCausalLM.from_pretrained(str(base_dir)).eval()
    pm = peft.PeftModel.from_pretrained(hf, str(second)).eval()
    with torch.no_grad():
        assert torch.allclose(lm.model(ids), pm(input_ids=ids).logits, atol=1e-4)

    # what continuing cannot change is refused in one line, before any training
    for out, extra, said in (
            ("r8", ["--lora-rank", "8"], "--lora-rank 8: the adapter first"),
            ("all", ["--lora-layers", "0"], "--lora-layers 0: the adapter first"),
            ("second", [], "already holds a training run"),
            ("first", [], "is the adapter you continue")):
        capsys.readouterr()
        assert main(argv(first, tmp_path / out, *extra)) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err
    capsys.readouterr()   # all its weights: a model folder is needed, and --lora is the way
    assert main(["train", "text", "--init-from", str(first), "--data", str(more), "--out",
                 str(tmp_path / "full"), "--steps", "1", "--threads", "1"]) == 2
    assert "is a LoRA adapter: add --lora" in capsys.readouterr().err
    stacked = tmp_path / "stacked"
    stacked.mkdir()
    (stacked / "adapter_config.json").write_text(json.dumps(lora.adapter_config(4, 16,
                                                                                str(first))))
    capsys.readouterr()
    assert main(argv(stacked, tmp_path / "x")) == 2
    assert "names another adapter as its base" in capsys.readouterr().err


def test_a_full_fine_tune_says_where_it_starts(base_dir, tmp_path, capsys):
    data = write_corpus(tmp_path / "data", n_files=2, sentences=80)
    capsys.readouterr()
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(data), "--out",
                 str(tmp_path / "ft"), "--steps", "2", "--progress", "json", "--threads", "1",
                 "--batch-size", "4", "--eval-batches", "1", "--context", "32"]) == 0
    start = next(e for e in _json_lines(capsys.readouterr().out) if e["kind"] == "start")
    assert "fine-tuning all weights of" in start["message"]
    assert "from scratch" not in start["message"]


def _wrapped_story(seed: int, sentences: int, width: int = 60) -> str:
    """A story hard-wrapped at ``width`` columns, as plain-text editors and e-texts save it."""
    import textwrap
    return "\n\n".join(textwrap.fill(p.strip(), width)
                       for p in story(seed, sentences).split("\n\n") if p.strip())


def _eval_bpb(model: Path, text_file: Path, capsys, context: str | None = "32") -> float:
    capsys.readouterr()
    assert main(["eval", "text", "--model", str(model), "--data", str(text_file),
                 *(["--context", context] if context else []), "--threads", "1",
                 "--json"]) == 0
    return json.loads(capsys.readouterr().out)["bits_per_byte"]


def test_held_out_figures_are_reverie_evals_even_for_wrapped_text_in_bf16(base_dir, tmp_path,
                                                                           capsys):
    """The run scores the held-out file as written (line breaks kept) in float32 and with
    `reverie eval text`'s default context (the base's 32 here, not the training windows' 16),
    so its before/after figures are what that command says about the base and the adapter."""
    data = tmp_path / "mine"
    data.mkdir()
    text = _wrapped_story(11, 150)
    cut = text.rfind("\n\n", 0, int(len(text) * 0.8))
    (data / "a.txt").write_text(text[:cut], encoding="utf-8")
    (data / "b.txt").write_text(text[cut:], encoding="utf-8")
    (tmp_path / "val.txt").write_text("b.txt\n", encoding="utf-8")
    out = tmp_path / "adapter"
    flags = [f for f in LORA_FAST if f != "--no-bf16"]
    capsys.readouterr()
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(data),
                 "--val-list", str(tmp_path / "val.txt"), "--out", str(out), "--steps", "4",
                 "--eval-every", "2", "--lr", "0.01", "--bf16", *flags, "--context", "16"]) == 0
    evals = [e["bits_per_byte"] for e in _json_lines(capsys.readouterr().out)
             if e["kind"] == "eval"]
    assert len(evals) == 3
    before = _eval_bpb(base_dir, data / "b.txt", capsys, context=None)
    after = _eval_bpb(out, data / "b.txt", capsys, context=None)
    assert "window of 32 tokens" in (out / "MODEL_CARD.md").read_text()
    capsys.readouterr()
    assert main(["eval", "text", "--model", str(out), "--data", str(data / "b.txt"),
                 "--threads", "1"]) == 0
    said = capsys.readouterr().out
    assert said.startswith("adapter: ") and " 1 file, " in said  # the adapter's figure, named so
    assert after != before
    assert evals[0] == pytest.approx(before, rel=2e-3)
    assert min(evals) == pytest.approx(after, rel=2e-3)   # the best evaluation is exported


def test_held_out_is_scored_at_the_eval_commands_context_not_the_training_windows(
        base_dir, tmp_path, capsys):
    """Training on windows of 16 tokens, the held-out file is still scored as `reverie eval
    text` scores it by default (the base's 32 tokens): the same figure to the last digits in
    float32, and not the figure a 16-token window gives."""
    data = tmp_path / "mine"
    data.mkdir()
    (data / "a.txt").write_text(story(41, 120), encoding="utf-8")
    (data / "b.txt").write_text(story(42, 40), encoding="utf-8")
    (tmp_path / "val.txt").write_text("b.txt\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(data),
                 "--val-list", str(tmp_path / "val.txt"), "--out", str(tmp_path / "adapter"),
                 "--steps", "1", *LORA_FAST, "--context", "16"]) == 0
    first = next(e["bits_per_byte"] for e in _json_lines(capsys.readouterr().out)
                 if e["kind"] == "eval")
    assert first == pytest.approx(_eval_bpb(base_dir, data / "b.txt", capsys, None), rel=1e-6)
    assert first != pytest.approx(_eval_bpb(base_dir, data / "b.txt", capsys, "16"), rel=1e-6)


def test_early_stop_exports_the_best_adapter_not_the_last(base_dir, tmp_path, capsys):
    """A constant learning rate and an evaluation every step: held-out bits fall for a while,
    then rise; patience ends the run, and the adapter written is the one of the best
    evaluation, not the last step's."""
    data = tmp_path / "mine"
    data.mkdir()
    (data / "a.txt").write_text(story(21, 150), encoding="utf-8")
    (data / "b.txt").write_text(story(22, 40), encoding="utf-8")
    (tmp_path / "val.txt").write_text("b.txt\n", encoding="utf-8")
    out = tmp_path / "adapter"
    capsys.readouterr()
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(data),
                 "--val-list", str(tmp_path / "val.txt"), "--out", str(out), "--steps", "100",
                 "--eval-every", "1", "--patience", "2", "--lr", "0.005", "--min-lr", "0.005",
                 *LORA_FAST]) == 0
    events = _json_lines(capsys.readouterr().out)
    evals = [(e["step"], e["bits_per_byte"]) for e in events if e["kind"] == "eval"]
    assert "stopped improving" in events[-1]["message"] and events[-1]["step"] < 100
    best_step, best = min(evals, key=lambda e: e[1])
    assert 0 < best_step < evals[-1][0] and evals[-1][1] > best
    samples = [e for e in events if e["kind"] == "sample"]
    assert samples[-1]["step"] == best_step  # the "after" sample is of the exported adapter
    assert _eval_bpb(out, data / "b.txt", capsys) == pytest.approx(best, rel=1e-4)


def test_a_bf16_run_evaluates_and_samples_a_held_out_text_of_a_few_tokens(base_dir, tmp_path,
                                                                           capsys):
    """Fewer than 16 tokens (the float32 evaluation and the sample meet bf16 base weights)."""
    data = tmp_path / "mine"
    data.mkdir()
    (data / "a.txt").write_text(story(31, 120), encoding="utf-8")
    (data / "b.txt").write_text("Anna sang.", encoding="utf-8")
    (tmp_path / "val.txt").write_text("b.txt\n", encoding="utf-8")
    flags = [f for f in LORA_FAST if f != "--no-bf16"]
    capsys.readouterr()
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(data),
                 "--val-list", str(tmp_path / "val.txt"), "--out", str(tmp_path / "o"),
                 "--steps", "2", "--bf16", "--lora-layers", "1", *flags]) == 0
    events = _json_lines(capsys.readouterr().out)
    assert [e["step"] for e in events if e["kind"] == "sample"] == [0, 2]
    assert all(e["bits_per_byte"] > 0 for e in events if e["kind"] == "eval")
    # --lora-layers 1: the top block only, as PEFT's layers_to_transform
    layers = json.loads((base_dir / "config.json").read_text())["num_hidden_layers"]
    cfg = json.loads((tmp_path / "o" / lora.CONFIG_FILE).read_text())
    assert cfg["layers_to_transform"] == [layers - 1]


def test_a_capped_held_out_is_what_the_run_scores_and_the_card_says(base_dir, tmp_path, capsys,
                                                                     monkeypatch):
    """Each evaluation scores the start of the held-out text when it is over the cap: the
    run's figure is `reverie eval text`'s on exactly that part, and the card says so."""
    from desktop_app.commands import train_text_lora as cmd
    monkeypatch.setattr(cmd, "EVAL_MAX_BYTES", 400)
    data = tmp_path / "mine"
    data.mkdir()
    (data / "a.txt").write_text(story(41, 120), encoding="utf-8")
    (data / "b.txt").write_text(story(42, 60), encoding="utf-8")
    (tmp_path / "val.txt").write_text("b.txt\n", encoding="utf-8")
    held_out = (data / "b.txt").read_text(encoding="utf-8")
    assert len(held_out.encode()) > 400
    capsys.readouterr()
    assert main(["train", "text", "--init-from", str(base_dir), "--data", str(data),
                 "--val-list", str(tmp_path / "val.txt"), "--out", str(tmp_path / "adapter"),
                 "--steps", "1", *LORA_FAST]) == 0
    out = capsys.readouterr().out
    first = next(e["bits_per_byte"] for e in _json_lines(out) if e["kind"] == "eval")
    scored = tmp_path / "scored.txt"
    scored.write_text(cmd.scored_held_out([held_out], 400)[0], encoding="utf-8")
    assert first == pytest.approx(_eval_bpb(base_dir, scored, capsys, None), rel=1e-6)
    assert first != pytest.approx(_eval_bpb(base_dir, data / "b.txt", capsys, None), rel=1e-6)
    card = (tmp_path / "adapter" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"Each evaluation scored {len(scored.read_bytes()):,} of the " \
           f"{len(held_out.encode()):,} held-out bytes" in card
