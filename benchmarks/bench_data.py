"""Data-loading benchmark for `clap_nbdev.data` (issue 4): loader vs raw decord vs a TSP-style PyAV baseline.

Usage: python benchmarks/bench_data.py [--workers 0] [--frames 16] [--short_side 128] [--crop 112] [--rounds 3] [--size WxH]
(`--help` describes every flag)

All read exactly the same clips: the first evaluation clip of every training segment of the default
synthetic dataset. Each is timed `rounds` times, interleaved, and the best round is kept (the machine is shared).
The last row reads the same clips with raw decord from a copy prepared by `clap_nbdev.prepare` (30 fps, the short
side at --short_side, a keyframe every 16 frames; prepared once, cached beside the dataset, not timed).
"""
import time
from pathlib import Path

import av
import decord
import numpy as np
import torch
import torch.nn.functional as F
from fastcore.script import call_parse
from torch.utils.data import DataLoader

from clap_nbdev.data import (ClipSpec, anet_clip_dataset, clip_start, collate, frame_indices, probe_video, resized_size, to_clip)
from clap_nbdev.prepare import prepare_videos
from clap_nbdev.synth import synth_dataset


def clip_plan(ds):
    "Per clip: item index, path, start time, and the probed size, for clip slot 0 of every segment."
    K = ds.spec.clips_per_segment
    out = []
    for k, seg in enumerate(ds.segments):
        m = ds.video_meta(seg.video)
        out.append((k * K, str(ds.paths[seg.video]), clip_start(seg.start, seg.end, ds.spec, 0), m))
    return out


def prepared_plan(plan, root, short_side):
    "The same clips from a copy of the videos prepared at `short_side` (30 fps like the synthetic ones, so the same start times)."
    dest = Path(root).parent / f'{Path(root).name}-prepared{short_side}'
    rec = prepare_videos(Path(root) / 'videos', dest, short_side=short_side)
    assert not rec['unreadable'], rec['unreadable']
    out = []
    for i, path, t0, m in plan:
        q = dest / (Path(path).stem + '.mp4')
        out.append((i, str(q), t0, probe_video(q)))
    return out


def run_loader(ds, plan, workers):
    "The pipeline as training uses it: `ClipDataset` + `DataLoader` + `collate` (probing included: fresh dataset copy)."
    ds._meta = {}  # no probe cache carried over from `clip_plan`
    loader = DataLoader(ds, batch_size=8, sampler=[i for i, *_ in plan], num_workers=workers, collate_fn=collate)
    n = 0
    for b in loader: n += len(b['text']); assert not b['skipped']
    return n


def run_raw(plan, spec):
    "The limit: one decord reader per clip, resized while decoding, the clip's frames in one `get_batch`; nothing else."
    for _, path, t0, m in plan:
        w, h = resized_size(m.width, m.height, spec.short_side)
        vr = decord.VideoReader(path, width=w, height=h, num_threads=1)
        vr.get_batch(list(frame_indices(t0, vr.get_avg_fps(), len(vr), spec))).asnumpy()
    return len(plan)


def run_tsp_style(plan, spec):
    """TSP-style, as `torchvision.io.read_video(start, end)` did for TSP: open the file with PyAV per clip, seek to the
    keyframe before the clip, decode to the clip's end, convert every frame of the clip's span to full-size RGB, then
    subsample to the clip's frames, resize, crop and normalise."""
    mean, std = torch.tensor(spec.mean).view(3, 1, 1, 1), torch.tensor(spec.std).view(3, 1, 1, 1)
    for _, path, t0, m in plan:
        want = frame_indices(t0, m.fps, m.n_frames, spec)
        first, last = int(want[0]), int(want[-1])
        span = {}
        with av.open(path) as c:
            s = c.streams.video[0]
            s.thread_count = 1
            c.seek(int(first / m.fps / s.time_base), stream=s, backward=True, any_frame=False)
            for f in c.decode(s):
                i = int(round(f.pts * s.time_base * m.fps))
                if i >= first: span[i] = f.to_ndarray(format='rgb24')
                if i >= last: break
        frames = [span[i] for i in want.tolist()]
        x = torch.from_numpy(np.stack(frames)).permute(3, 0, 1, 2).float() / 255  # C T H W, full size
        w, h = resized_size(m.width, m.height, spec.short_side)
        x = F.interpolate(x, size=(h, w), mode='bilinear', align_corners=False)
        y0, x0 = (h - spec.crop) // 2, (w - spec.crop) // 2
        x = (x[:, :, y0:y0 + spec.crop, x0:x0 + spec.crop] - mean) / std
        assert x.shape[1] == spec.frames, (path, x.shape)
    return len(plan)


@call_parse
def bench_data(workers:int=0, # DataLoader workers for the loader (0: same process, like the others)
               frames:int=16, # frames per clip
               short_side:int=128, # frames resized to this short side while decoding
               crop:int=112, # centre crop
               rounds:int=3, # timed rounds; the best is kept
               size:str=None): # WxH: a synthetic dataset of this frame size (generated once, cached), e.g. 640x360; default: the default one (228x128)
    "Data-loading benchmark: the loader vs raw decord vs a TSP-style PyAV baseline, on the same clips."
    torch.set_num_threads(1)
    spec = ClipSpec(frames=frames, short_side=short_side, crop=crop)
    if size:
        w, h = (int(v) for v in size.lower().split('x'))
        root = synth_dataset(width=w, height=h, n_train=24, n_val=2, n_test=0)
    else: root = synth_dataset()
    ds = anet_clip_dataset(root, 'training', spec=spec, train=False, use_captions=True, caption_prob=0.5, seed=0)
    plan = clip_plan(ds)
    # sanity: the loader's clip is exactly the raw decode, centre-cropped and normalised
    _, path, t0, m = plan[0]
    w, h = resized_size(m.width, m.height, spec.short_side)
    vr = decord.VideoReader(path, width=w, height=h, num_threads=1)
    raw = vr.get_batch(list(frame_indices(t0, vr.get_avg_fps(), len(vr), spec))).asnumpy()
    assert torch.equal(ds[plan[0][0]]['clip'], to_clip(raw, spec))
    plan_p = prepared_plan(plan, root, spec.short_side)
    best = {'loader': np.inf, 'raw decord': np.inf, 'TSP-style PyAV': np.inf, 'raw decord, prepared': np.inf}
    fns = {'loader': lambda: run_loader(ds, plan, workers), 'raw decord': lambda: run_raw(plan, spec),
           'TSP-style PyAV': lambda: run_tsp_style(plan, spec), 'raw decord, prepared': lambda: run_raw(plan_p, spec)}
    for r in range(rounds):
        for name, fn in fns.items():
            t = time.perf_counter()
            n = fn()
            dt = time.perf_counter() - t
            assert n == len(plan)
            best[name] = min(best[name], dt)
    rate = {k: len(plan) / v for k, v in best.items()}
    print(f'{len(plan)} clips of {spec.frames} frames, short side {spec.short_side}, crop {spec.crop} '
          f'({m.width}x{m.height} {m.fps:g} fps H.264), best of {rounds} rounds, loader num_workers={workers}')
    for k, v in rate.items(): print(f'  {k:20s} {v:7.1f} clips/s')
    print(f'  loader / raw decord     = {rate["loader"] / rate["raw decord"]:.2f}x (target >= 0.85x)')
    print(f'  loader / TSP-style PyAV = {rate["loader"] / rate["TSP-style PyAV"]:.2f}x (target >= 1.5x)')
    m_p = plan_p[0][3]
    print(f'  prepared ({m_p.width}x{m_p.height} {m_p.fps:g} fps, keyframe every 16) / raw file = '
          f'{rate["raw decord, prepared"] / rate["raw decord"]:.2f}x')

