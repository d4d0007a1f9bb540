"""Where the clips of a training epoch should be read on this machine: in DataLoader workers or in the main process.

    python benchmarks/bench_loader.py [--preset repro] [--rounds 6]

Fills a `FrameCache` with one untimed epoch, then alternates, round by round on one model and optimizer, full
training epochs (`Trainer.one_epoch`, with its worker start-up) fed by: the same 12 batches held in memory (no
loading at all: the reference), one worker, one persistent worker, and the main process (`num_workers=0`).
Prints each loader's clips/s per round and its ratio to the in-memory epoch of the same round (paired: the
machine's pace drifts by up to 2x within minutes), with the median over rounds.
Then the main process over one worker, paired by round.
Measured on 2 cores (repro preset, warm cache): with 6 rounds of the same design, one worker 0.918x, persistent
0.948x, main process 0.979x; with this script and 2 rounds, 0.918x, 0.925x and 0.921x (not decisive). With 8
rounds on an AMD EPYC without AVX-512: one worker 0.800x, persistent 0.897x, main process 0.955x; the main process
over one worker 1.15x (1.07-1.34), above 1 in all 8 rounds. So the repro preset reads its clips in the main process.
"""
import sys, tempfile
from pathlib import Path

import numpy as np
from fastcore.script import call_parse
from torch.utils.data import DataLoader

from clap_nbdev.data import collate
from clap_nbdev.train import EpochTally, train, train_order

sys.path.insert(0, str(Path(__file__).parent))
from bench_train import trainer


@call_parse
def bench_loader(preset:str='repro', # the `clap_nbdev.train` preset
                 rounds:int=6): # rounds of one epoch per loader
    "Training epochs fed by workers or by the main process, each against in-memory batches of the same round."
    with tempfile.TemporaryDirectory() as cache:
        train(preset=preset, out=tempfile.mkdtemp(), epochs=1, frame_cache=cache, progress=False)  # untimed: fills the cache
        tr = trainer(preset, cache, num_workers=1)
        it = iter(tr.train_dl); held = [next(it) for _ in range(12)]; del it
        mk = lambda nw, keep: tr.acc.prepare(DataLoader(tr.train_ds, **train_order(tr.train_ds, tr.cfg, tr.acc.num_processes),
                                                        collate_fn=collate, num_workers=nw, persistent_workers=keep))
        loaders = {'one worker': tr.train_dl, 'one persistent worker': mk(1, True), 'main process': mk(0, False)}
        def in_memory():
            tally = EpochTally()
            for b in range(tr.steps_per_epoch): tr.one_batch(held[b % len(held)], 0, b, tally)
            return tally.clips / tally.elapsed()
        def from_loader(name, e):
            tr.train_dl = loaders[name]
            t = tr.one_epoch(e)
            return t.clips / t.elapsed()
        res = {k: [] for k in ['in memory', *loaders]}
        for r in range(rounds):
            res['in memory'].append(in_memory())
            for k in loaders: res[k].append(from_loader(k, r))
    ref = np.array(res['in memory'])
    for k, v in res.items():
        q = np.array(v) / ref
        print(f"{k:22s} clips/s {' '.join(f'{x:5.1f}' for x in v)}  / in memory: median {np.median(q):.3f} "
              f"(range {q.min():.3f}-{q.max():.3f})")
    q = np.array(res['main process']) / np.array(res['one worker'])
    print(f'main process / one worker, paired by round: median {np.median(q):.3f} (range {q.min():.3f}-{q.max():.3f}), '
          f'above 1 in {int((q > 1).sum())} of {rounds} rounds')
