"""Per-call cost of the sampler chain for vocab 32k and 150k (prints figures, no asserts)."""
import time
import numpy as np
from desktop_app.core.sampling import PRESETS, SamplerSettings, Sampler, next_token_distribution, sampler_trace

def bench(fn, n):
    fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return np.median(ts) * 1e3

rng = np.random.default_rng(0)
for V in (32_000, 150_000):
    logits = (rng.normal(size=V) * 3).astype(np.float32)
    hist = rng.integers(0, V, size=1024).tolist()
    cases = {
        "Balanced (llama.cpp defaults)": PRESETS["Balanced"].replace(seed=1),
        "Precise (+repeat penalty)": PRESETS["Precise"].replace(seed=1),
        "Creative (min-p, DRY, no top-k)": PRESETS["Creative"].replace(seed=1),
        "Wild (min-p, DRY, XTC)": PRESETS["Wild"].replace(seed=1),
        "top-p 0.95 only, no top-k": SamplerSettings(top_k=0, min_p=0, seed=1),
        "typical 0.9 only": SamplerSettings(top_k=0, top_p=1, min_p=0, typical_p=0.9, seed=1),
        "greedy": SamplerSettings(temperature=0, seed=1),
    }
    for name, s in cases.items():
        smp = Sampler(s)
        ms = bench(lambda: smp.sample(logits, hist), 30)
        print(f"V={V:>6}  {name:<34} Sampler.sample {ms:7.2f} ms/token")
    s = PRESETS["Balanced"].replace(seed=1)
    print(f"V={V:>6}  {'Balanced':<34} next_token_distribution {bench(lambda: next_token_distribution(logits, s, hist), 30):.2f} ms,"
          f" sampler_trace {bench(lambda: sampler_trace(logits, s, hist), 10):.2f} ms")
# DRY worst-ish case: a long verbatim loop in a 4096-token history
loop = list(range(50)) * 82
s = PRESETS["Creative"].replace(seed=1)
logits = (rng.normal(size=32000) * 3).astype(np.float32)
print(f"DRY with a 4100-token verbatim loop, V=32000: {bench(lambda: next_token_distribution(logits, s, loop), 20):.2f} ms")
same = [7] * 4096
print(f"DRY with 4096 copies of one token, V=32000: {bench(lambda: next_token_distribution(logits, s, same), 20):.2f} ms")
