"""Training throughput: the full pipeline against the bare model, in one run on the same shapes.

    python benchmarks/bench_train.py [--preset default] [--videos 0] [--epochs 2] [--steps 24] [--frame_cache]

Prints, for the preset's clip geometry and batch size:
- pipeline clips/s: `clap_nbdev.train.train` for `--epochs` epochs on the first `--videos` training videos
  (all by default, so that an epoch is as long as a real run's and the worker start-up of each epoch
  weighs as it does there; decoding in DataLoader workers, text encoding with its cache, loss,
  backward, optimizer step); with `--frame_cache`, the clips come from a `FrameCache` that an untimed
  epoch filled first, as every run of the reproduction after the first reads them;
- bare-model clips/s, measured just before and just after the pipeline epochs: forward + backward +
  step of the same model and loss on random tensors of the same shape (the limit on this machine), in
  the run's precision and memory format;
- the ratio pipeline / bare (target >= 0.9x): its range over the epochs and the two bare measurements,
  and the ratio of the means; then the bare model's clips/s in fp32 / bf16 autocast, with and without
  channels_last_3d.
Runs unchanged on a CUDA machine (it reports the device); timings are only comparable within one run.
"""
import json, tempfile, time
from pathlib import Path

import torch
from fastcore.script import call_parse

from clap_nbdev.losses import CLAPLoss
from clap_nbdev.models import CLAPModel, video_encoder
from clap_nbdev.train import TrainConfig, TrainStep, train
from clap_nbdev.utils import resolve_precision


def bare_clips_per_s(cfg, device, steps, warmup=3, bf16=None, channels_last=None):
    "Clips/s of forward + backward + AdamW step on random clips of the preset's shape."
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
    for _ in range(warmup): one()
    if device.type == 'cuda': torch.cuda.synchronize()
    t0 = time.time()
    for _ in range(steps): one()
    if device.type == 'cuda': torch.cuda.synchronize()
    return B * steps / (time.time() - t0)


@call_parse
def bench_train(preset:str='default', # the `clap_nbdev.train` preset whose geometry, batch and precision are measured
                videos:int=0, # training videos in the pipeline epochs (0: all, so that an epoch is as long as a real run's)
                epochs:int=2, # timed pipeline epochs
                steps:int=24, # timed steps of each bare-model measurement
                data:str=None, # dataset folder (default: the embedded synthetic dataset)
                frame_cache:bool=False): # read clips from a warm `FrameCache` (filled by one untimed epoch first)
    "Training throughput: the full pipeline against the bare model, in one run on the same shapes."
    cfg = TrainConfig.from_preset(preset)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    print(f"device: {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, {torch.get_num_threads()} threads, "
          f"preset {preset}: {cfg.backbone}, {cfg.frames}x{cfg.crop}x{cfg.crop}, batch {cfg.batch_size}, "
          f"{resolve_precision(cfg.mixed_precision, device)}, channels_last={cfg.channels_last}")
    run = dict(preset=preset, data=data, max_videos=videos, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / 'frames') if frame_cache else None
        if cache: train(out=str(Path(tmp) / 'fill'), epochs=1, frame_cache=cache, **run)  # untimed: fills the cache
        before = bare_clips_per_s(cfg, device, steps)  # the machine's pace can drift: bare runs bracket the pipeline
        hist = train(out=str(Path(tmp) / 'run'), epochs=epochs, frame_cache=cache, **run)
        after = bare_clips_per_s(cfg, device, steps)
    pipe, bare = [h['train_clips_per_s'] for h in hist], (before + after) / 2
    print(f"pipeline   {' / '.join(f'{p:.2f}' for p in pipe)} clips/s  ({epochs} epochs of {hist[0]['step']} steps, "
          f"all steps counted)")
    print(f'bare model {before:.2f} before, {after:.2f} after clips/s  (forward + backward + step on random tensors)')
    print(f'pipeline / bare model = {min(pipe) / max(before, after):.2f}x to {max(pipe) / min(before, after):.2f}x, '
          f'{sum(pipe) / len(pipe) / bare:.2f}x on the means (target >= 0.9x)')
    for bf16 in (False, True):
        for cl in (False, True):
            r = bare_clips_per_s(cfg, device, steps, bf16=bf16, channels_last=cl)
            print(f"bare model, {'bf16 autocast' if bf16 else 'fp32         '}, channels_last_3d={str(cl):5}: {r:7.2f} clips/s")
