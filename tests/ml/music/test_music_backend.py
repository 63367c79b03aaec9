"""Music job handlers with an inline context: MelodyReady events, seeds, primer, interpolation."""

from desktop_app.backends.registry import handler_for
from desktop_app.core.events import MelodyReady
from desktop_app.core.jobs import CancelToken
from desktop_app.core.melody import Key, Melody, Meter, Note
from desktop_app.core.music import (ContinueMelodyJob, GenerateMelodyJob, InterpolateMelodiesJob,
                                    MelodyResult)


class _Cache:
    def __init__(self):
        self.store = {}

    def get(self, key, loader, size_bytes=None):
        if key not in self.store:
            self.store[key] = loader(lambda f, m: None)
        return self.store[key]

    def evict(self, key):
        self.store.pop(key, None)


class _Ctx:
    def __init__(self):
        self.token, self.models, self.events = CancelToken(), _Cache(), []

    def emit(self, ev):
        self.events.append(ev)

    def progress(self, fraction, message="", rate=None):
        self.events.append(("progress", fraction, message))


def test_generate_and_continue(tiny_lm):
    ctx = _Ctx()
    job = GenerateMelodyJob(model_dir=str(tiny_lm), key="A minor", meter="3/4", bars=4,
                            variants=2, seed=10, hard_mask=True)
    res = handler_for(job)(job, ctx)
    assert isinstance(res, MelodyResult) and res.seeds == (10, 11)
    ready = [e for e in ctx.events if isinstance(e, MelodyReady)]
    assert [e.index for e in ready] == [0, 1] and ready[0].melody == res.melodies[0]
    assert all(s["in_key_ratio"] == 1.0 for s in res.stats)
    primer = Melody(notes=(Note(start=0, pitch=64, duration=3),), key=Key.parse("E minor"),
                    meter=Meter(3, 4), tempo=80)
    job2 = ContinueMelodyJob(model_dir=str(tiny_lm), primer=primer, bars=2, seed=1)
    res2 = handler_for(job2)(job2, ctx)
    m = res2.melodies[0]
    assert m.key.name == "E minor" and m.tempo == 80 and m.notes[0] == primer.notes[0]


def test_interpolate_job(tiny_vae):
    notes = tuple(Note(start=i * 0.5, pitch=60 + (i % 5), duration=0.5) for i in range(16))
    a = Melody(notes=notes)
    job = InterpolateMelodiesJob(model_dir=str(tiny_vae), a=a, b=a.transpose(0), steps=3)
    res = handler_for(job)(job, _Ctx())
    assert len(res.melodies) == 3
