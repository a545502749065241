#!/usr/bin/env python3
"""Dev-time only: writes test/fixtures/storybench/reference.npz the way the StoryBench reference
stores a result (np.savez_compressed with video [T, H, W*S, 3] uint8, frames, texts), plus a plain
.npy float array, so Kiln's tests read files that numpy itself wrote. Needs python3-numpy."""
import os
import numpy as np

out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'storybench')
rng = np.random.default_rng(3)
video = rng.integers(0, 256, size=(5, 4, 6 * 2, 3), dtype=np.uint8)
np.savez_compressed(os.path.join(out, 'reference.npz'), video=video, frames=np.array([2, 3]),
                    texts=np.array(['a red square', 'moves to the left — über']))
np.save(os.path.join(out, 'reference-f8.npy'), np.arange(12, dtype=np.float64).reshape(3, 4) / 7)
print(int(video.astype(np.int64).sum()), video[4, 3, 11].tolist())
