"""The reproduction's wall time against its bare compute, in one run.

    python benchmarks/bench_reproduce.py [--figures figures] [--preset repro]

Reads what a finished `python -m clap_nbdev.reproduce` wrote into `--figures`: the stage times
(`reproduce_times.csv`) and the work done (`reproduce_work.json`: clips trained on, validated, and
encoded for features and Fig. 2a, summed over encoders). Then measures, now, on this machine, the bare
model's clips/s of the preset's shape: forward + backward + step on random tensors (training), and the
encoder's forward alone (validation, features, Fig. 2a). The bare compute is the work divided by those
rates; everything else (decoding, data generation, start-up, heads, metrics) is overhead.
Target: overheads under 15 % of the wall time. The machine must be the run's (the reproduction records it in
`reproduce_work.json`; the benchmark warns when they differ) and as idle as it was for the run.
"""
import json, sys, time
from pathlib import Path

import pandas as pd
import torch
from fastcore.script import call_parse

sys.path.insert(0, str(Path(__file__).parent))
from bench_train import bare_clips_per_s
from clap_nbdev.models import video_encoder
from clap_nbdev.reproduce import machine
from clap_nbdev.train import TrainConfig


def bare_forward_per_s(cfg, device, steps=8, batch=64):
    "Clips/s of the encoder's forward pass alone (inference mode), on random clips of the preset's shape."
    enc = video_encoder(cfg.backbone).to(device).eval()
    x = torch.randn(batch, 3, cfg.frames, cfg.crop, cfg.crop, device=device)
    if cfg.channels_last: enc, x = enc.to(memory_format=torch.channels_last_3d), x.to(memory_format=torch.channels_last_3d)
    with torch.inference_mode():
        enc(x)
        t0 = time.perf_counter()
        for _ in range(steps): enc(x)
    return batch * steps / (time.perf_counter() - t0)


def stage_overheads(times, work, train_rate, fwd_rate):
    "`(stages, wall, bare)` per group of stages: training runs (with their validation), features, Fig. 2a, and the rest."
    get = lambda *ks: sum(float(times.get(k, 0.)) for k in ks)
    rows = [('start encoder + training (+ validation)', get('start encoder', 'training'),
             work['training clips'] / train_rate + work['validation clips'] / fwd_rate),
            ('features', get('features'), work.get('feature clips x encoders', 0) / fwd_rate),
            ('fig. 2a', get('fig. 2a'), work.get('fig. 2a clips x encoders', 0) / fwd_rate),
            ('data + evaluation (no encoder compute)', get('data', 'evaluation'), 0.)]
    return rows


@call_parse
def bench_reproduce(figures:str='figures', # where the reproduction wrote its tables
                    preset:str='repro'): # the training preset the reproduction ran
    "The reproduction's wall time against the sum of its bare training and forward compute."
    times = pd.read_csv(Path(figures) / 'reproduce_times.csv', index_col=0)['seconds']
    work = json.loads((Path(figures) / 'reproduce_work.json').read_text())
    cfg, device = TrainConfig.from_preset(preset), torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    train_rate, fwd_rate = bare_clips_per_s(cfg, device, 12), bare_forward_per_s(cfg, device)
    forward = work['validation clips'] + work.get('feature clips x encoders', 0) + work.get('fig. 2a clips x encoders', 0)
    bare = work['training clips'] / train_rate + forward / fwd_rate
    ran, now = work.get('machine', 'not recorded'), machine()
    print(f'the run computed on: {ran}; this benchmark on: {now}')
    if ran != now: print('WARNING: not the machine of the run: its bare compute below is not the run\'s, nor are the overheads')
    print(f'bare rates now: training {train_rate:.1f} clips/s, forward {fwd_rate:.1f} clips/s ({cfg.backbone}, '
          f'{cfg.frames}x{cfg.crop}x{cfg.crop})')
    print(f"work: {work['training clips']} clips trained, {forward} encoded")
    print(times.round(1).to_string())
    print(f"wall {times['total']:.0f} s, bare compute {bare:.0f} s: wall / bare = {times['total'] / bare:.2f}x, "
          f"overheads {100 * (1 - bare / times['total']):.0f} % of the wall time (target < 15 %)")
    print('where the overheads are, stage by stage (wall - bare compute of its work):')
    for name, wall, own in stage_overheads(times, work, train_rate, fwd_rate):
        print(f'  {name:36s} wall {wall:7.0f} s  bare {own:7.0f} s  overhead {wall - own:6.0f} s')
