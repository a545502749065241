"""The workloads of bench/workloads.ts in PyTorch, timed the same way (wall-clock ms per step).
Run by bench/train-step.ts when Debian's python3-torch is installed, as a child that answers the
same line protocol as bench/step-server.ts (--serve); alone it prints one JSON object of medians.
`--threads` sets torch's thread count (OpenBLAS reads OPENBLAS_NUM_THREADS from the environment).

usage: python3 bench/torch_workloads.py --threads 1 [--workloads cnn,mlp] [--repeats 10] [--warmup 2] [--serve]
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn_relu6(cin, cout, k, stride, relu6=True):
    # tfjs 'same' padding; for these shapes (odd k, even input, stride 2) it pads one row/column
    # after, which nn.ZeroPad2d reproduces exactly.
    layers = []
    if stride == 2 and k > 1:
        layers.append(nn.ZeroPad2d((0, 1, 0, 1)))
        pad = 0
    else:
        pad = k // 2
    layers += [nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)]
    if relu6:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class InvertedBottleneck(nn.Module):
    def __init__(self, cin, cout, expand, stride):
        super().__init__()
        mid = cin * expand
        pad = nn.ZeroPad2d((0, 1, 0, 1)) if stride == 2 else nn.ZeroPad2d(1)
        self.body = nn.Sequential(
            conv_bn_relu6(cin, mid, 1, 1),
            pad, nn.Conv2d(mid, mid, 3, stride, 0, groups=mid, bias=False), nn.BatchNorm2d(mid, eps=1e-3, momentum=0.01), nn.ReLU6(),
            conv_bn_relu6(mid, cout, 1, 1, relu6=False))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def build_cnn():
    return nn.Sequential(
        conv_bn_relu6(3, 16, 3, 2),
        InvertedBottleneck(16, 16, 4, 1), InvertedBottleneck(16, 24, 4, 2), InvertedBottleneck(24, 24, 4, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 10))


def build_mlp():
    return nn.Sequential(nn.Linear(50, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 2))


class TransformerBlock(nn.Module):
    """Pre-norm attention + MLP block written as the same plain ops as bench/workloads.ts."""

    def __init__(self, dim=128, heads=4, hidden=512):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.g1 = nn.Parameter(torch.ones(dim))
        self.g2 = nn.Parameter(torch.ones(dim))

    def norm(self, x, gain):
        mean = x.mean(-1, keepdim=True)
        var = ((x - mean) ** 2).mean(-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-5) * gain

    def forward(self, x):
        b, s, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(self.norm(x, self.g1)).reshape(b, s, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / hd ** 0.5, dim=-1)
        h = x + self.out((att @ v).transpose(1, 2).reshape(b, s, d))
        return h + self.fc2(torch.relu(self.fc1(self.norm(h, self.g2))))


def channels_last(x):
    return x.contiguous(memory_format=torch.channels_last)


def workloads():
    def adam(build, shape, classes, to_cl=False):
        def make():
            torch.manual_seed(0)
            model = build()
            x = torch.randn(*shape)
            if to_cl:
                model = model.to(memory_format=torch.channels_last)
                x = channels_last(x)
            y = torch.randint(0, classes, (shape[0],))
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            model.train()

            def step():
                opt.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                loss.item()
            return step
        return make

    def cnn_infer():
        torch.manual_seed(0)
        model = build_cnn().to(memory_format=torch.channels_last).eval()
        x = channels_last(torch.randn(64, 3, 32, 32))

        def step():
            with torch.no_grad():
                model(x).sum().item()
        return step

    def transformer():
        torch.manual_seed(0)
        block = TransformerBlock()
        x = torch.randn(16, 64, 128)

        def step():
            block.zero_grad()
            loss = (block(x) ** 2).mean()
            loss.backward()
            loss.item()
        return step

    return {
        'cnn': adam(build_cnn, (64, 3, 32, 32), 10, to_cl=True),
        'cnn-infer': cnn_infer,
        'mlp': adam(build_mlp, (256, 50), 2),
        'transformer': transformer,
    }


def resident_mb():
    """Peak and current resident memory of this process, in MB (Linux /proc)."""
    with open('/proc/self/status') as f:
        fields = dict(line.split(':', 1) for line in f if ':' in line)
    kb = lambda key: int(fields[key].split()[0])
    return {'peak': kb('VmHWM') / 1024, 'now': kb('VmRSS') / 1024}


def time_steps(step, warmup, repeats):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1000)
    return times


def serve():
    table = workloads()
    built = {}
    print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        if req.get('memory'):
            print(json.dumps(resident_mb()), flush=True)
            continue
        name = req['workload']
        if name not in built:
            built[name] = table[name]()
        print(json.dumps({'ms': time_steps(built[name], req.get('warmup', 0), req.get('repeats', 1))}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--workloads', default='cnn,cnn-infer,mlp,transformer')
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--serve', action='store_true')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.serve:
        serve()
        return
    table = workloads()
    out = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'ms': {}}
    for name in a.workloads.split(','):
        out['ms'][name] = statistics.median(time_steps(table[name](), a.warmup, a.repeats))
    print(json.dumps(out))


if __name__ == '__main__':
    main()
