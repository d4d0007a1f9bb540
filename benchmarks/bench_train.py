"""Training throughput: the full pipeline against the bare model, paired epoch by epoch in one run.

    python benchmarks/bench_train.py [--preset default] [--rounds 6] [--steps 24] [--frame_cache] [--num_workers N] [--formats]

For the preset's clip geometry, batch size and precision, each round times
- a bare-model block of `--steps` steps: forward + backward + AdamW step of the same model and loss on random
  tensors of the same shape (the limit on this machine), in the run's precision and memory format;
- one full training epoch of the pipeline (`Trainer.one_epoch` on every training video: worker start-up,
  decoding, text encoding with its cache, loss, backward, gradient clipping, optimizer step; with
  `--frame_cache`, the clips come from a `FrameCache` that an untimed epoch filled first, as every run of the
  reproduction after the first reads them);
- a second bare block.
The round's ratio is the epoch's clips/s over the mean of the two bare blocks around it: the machine's pace
drifts by up to 2x within minutes, so only ratios measured side by side mean anything. Prints each round, the
median ratio with its range (target >= 0.9x), and with `--formats` the bare model's clips/s in fp32 / bf16
autocast, with and without channels_last_3d. Runs unchanged on a CUDA machine (it reports the device).
Measured on 2 cores of an AMD EPYC without AVX-512 (repro preset, warm cache): median 0.899x (interquartile
0.853-0.949, 6 rounds) with the clips read in the main process, as the preset now does, and 0.800x (0.765-0.865,
5 rounds) with one DataLoader worker. The 0.63x this benchmark printed before was its own error: it read the
epoch's clock after the second bare block, so each epoch was charged the ~5 s of bare steps that followed it
(`EpochTally.stop` now ends the epoch's clock with its last batch).
"""
import tempfile, time

import numpy as np
import torch
from fastcore.script import call_parse

from clap_nbdev.losses import CLAPLoss
from clap_nbdev.models import CLAPModel, video_encoder
from clap_nbdev.train import TrainConfig, Trainer, TrainStep, train
from clap_nbdev.utils import resolve_precision


def bare_step(cfg, device, bf16=None, channels_last=None):
    "`(one, B)`: a function doing one forward + backward + AdamW step on random clips of the preset's shape, and its batch size."
    bf16 = resolve_precision(cfg.mixed_precision, device) == 'bf16' if bf16 is None else bf16
    channels_last = cfg.channels_last if channels_last is None else channels_last
    torch.manual_seed(0)
    model = CLAPModel(video_encoder(cfg.backbone), 384, 8).to(device)
    if channels_last: model = model.to(memory_format=torch.channels_last_3d)
    step = TrainStep(model, CLAPLoss(cfg.variant)).to(device)
    opt = torch.optim.AdamW(step.parameters(), lr=1e-4)
    B = cfg.batch_size
    clips = torch.randn(B, 3, cfg.frames, cfg.crop, cfg.crop, device=device)
    if channels_last: clips = clips.to(memory_format=torch.channels_last_3d)
    batch = {'region': torch.randint(0, 2, (B,), device=device), 'action': torch.randint(0, 8, (B,), device=device),
             'text': ['t'] * B}
    text = torch.randn(B, 384, device=device)
    def one():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            parts, _ = step(clips, text, batch)
        parts['loss'].backward()
        opt.step()
        opt.zero_grad()
    return one, B


def timed_rate(one, B, steps, device) -> float:
    "Clips/s of `steps` calls of `one` (CUDA synchronised around them)."
    if device.type == 'cuda': torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps): one()
    if device.type == 'cuda': torch.cuda.synchronize()
    return B * steps / (time.perf_counter() - t0)


def bare_clips_per_s(cfg, device, steps, warmup=3, bf16=None, channels_last=None):
    "Clips/s of forward + backward + AdamW step on random clips of the preset's shape."
    one, B = bare_step(cfg, device, bf16, channels_last)
    for _ in range(warmup): one()
    return timed_rate(one, B, steps, device)


def trainer(preset:str, cache:str=None, **flags) -> Trainer:
    "A `Trainer` of `preset` (reading from `cache`, a `FrameCache` folder, if given), built up to its loaders."
    flags = {k: v for k, v in flags.items() if v is not None}  # as `train`: a flag not given takes the preset's value
    tr = Trainer(TrainConfig.from_preset(preset, out=tempfile.mkdtemp(), frame_cache=cache, **flags))
    tr.setup(); ck = tr.open_run(); tr.build_data(ck); tr.build_model(); tr.build_loaders(); tr.restore(ck)
    return tr


@call_parse
def bench_train(preset:str='default', # the `clap_nbdev.train` preset whose geometry, batch and precision are measured
                rounds:int=6, # paired rounds: bare block, pipeline epoch, bare block
                steps:int=24, # steps of each bare-model block
                data:str=None, # dataset folder (default: the embedded synthetic dataset)
                num_workers:int=None, # DataLoader workers (default: the preset's)
                frame_cache:bool=False, # read clips from a warm `FrameCache` (filled by one untimed epoch first)
                formats:bool=False): # then the bare model in fp32 / bf16, with and without channels_last_3d (slow on CPUs)
    "Training throughput: the full pipeline against the bare model, paired epoch by epoch."
    cfg = TrainConfig.from_preset(preset)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    print(f"device: {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, {torch.get_num_threads()} threads, "
          f"preset {preset}: {cfg.backbone}, {cfg.frames}x{cfg.crop}x{cfg.crop}, batch {cfg.batch_size}, "
          f"{resolve_precision(cfg.mixed_precision, device)}, channels_last={cfg.channels_last}, "
          f"{cfg.num_workers if num_workers is None else num_workers} workers")
    with tempfile.TemporaryDirectory() as tmp:
        cache = tmp if frame_cache else None
        if cache: train(preset=preset, data=data, out=tempfile.mkdtemp(), epochs=1, frame_cache=cache, progress=False)
        tr = trainer(preset, cache, data=data, num_workers=num_workers, progress=False)
        one, B = bare_step(cfg, tr.acc.device)
        for _ in range(3): one()
        rows = []
        for r in range(rounds):
            before = timed_rate(one, B, steps, tr.acc.device)
            t = tr.one_epoch(r)
            after = timed_rate(one, B, steps, tr.acc.device)
            rows.append((t.clips / t.elapsed(), before, after))
    pipe, before, after = np.array(rows).T
    q = pipe / ((before + after) / 2)
    for r, (p, b, a) in enumerate(rows):
        print(f'round {r}: pipeline epoch {p:6.2f} clips/s ({tr.steps_per_epoch} steps), bare {b:6.2f} before, '
              f'{a:6.2f} after: ratio {q[r]:.3f}')
    print(f'pipeline / bare model: median {np.median(q):.3f}x over {rounds} rounds (range {q.min():.3f}-{q.max():.3f}; '
          f'interquartile {np.quantile(q, .25):.3f}-{np.quantile(q, .75):.3f}); target >= 0.9x')
    for bf16 in (False, True) if formats else ():
        for cl in (False, True):
            r = bare_clips_per_s(cfg, device, steps, bf16=bf16, channels_last=cl)
            print(f"bare model, {'bf16 autocast' if bf16 else 'fp32         '}, channels_last_3d={str(cl):5}: {r:7.2f} clips/s")
