// Convolutions (2-D, depthwise, 3-D) with their input and filter gradients, pooling with its
// gradients, and batch normalization.
//
// tfjs tensors are channels-last (NHWC / NDHWC). Permuting such a tensor to NCHW order gives a view
// in torch's channels-last memory format, which oneDNN convolves without a copy; results permute
// back to channels-last views of the same memory. tfjs's SAME padding can be asymmetric (one more
// row at the bottom); torch pads symmetrically, so an asymmetric case pads the input explicitly.
#include "kiln.h"

#include <ATen/Parallel.h>

using namespace kiln;
using at::Tensor;


namespace {

// [N, D.., C] -> [N, C, D..] (a view)
Tensor channelsFirst(const Tensor& x) {
  std::vector<int64_t> perm = {0, x.dim() - 1};
  for (int64_t d = 1; d < x.dim() - 1; d++) perm.push_back(d);
  return x.permute(perm);
}

// [N, C, D..] -> [N, D.., C], contiguous (a view when the memory already is channels-last)
Tensor channelsLast(const Tensor& y) {
  std::vector<int64_t> perm = {0};
  for (int64_t d = 2; d < y.dim(); d++) perm.push_back(d);
  perm.push_back(1);
  return y.permute(perm).contiguous();
}

struct Geometry {
  std::vector<int64_t> strides, dilations, before, after;
  bool nchw = false;  // tfjs dataFormat NCHW: no layout change at all

  bool symmetric() const { return before == after; }
  std::vector<int64_t> zeros() const { return std::vector<int64_t>(before.size(), 0); }
};

// strides, pads as [before0, after0, before1, after1, ...], then dilations unless a pool (none)
Geometry geometry(const Call& c, size_t first, size_t nd, bool dilated = true) {
  Geometry g;
  g.strides = c.ints(first);
  const std::vector<int64_t> pads = c.ints(first + 1);
  g.dilations = dilated ? c.ints(first + 2) : std::vector<int64_t>(nd, 1);
  require(g.strides.size() == nd && pads.size() == 2 * nd && g.dilations.size() == nd, "convolution geometry has the wrong rank");
  for (size_t d = 0; d < nd; d++) {
    require(pads[2 * d] >= 0 && pads[2 * d + 1] >= 0, "negative padding");
    g.before.push_back(pads[2 * d]);
    g.after.push_back(pads[2 * d + 1]);
  }
  return g;
}

// Pads the spatial dims of a channels-first tensor explicitly (keeping channels-last memory).
Tensor padSpatial(const Tensor& x, const Geometry& g, double value) {
  std::vector<int64_t> spec;
  for (int64_t d = static_cast<int64_t>(g.before.size()) - 1; d >= 0; d--) {
    spec.push_back(g.before[d]);
    spec.push_back(g.after[d]);
  }
  Tensor p = at::constant_pad_nd(x, spec, value);
  if (!g.nchw) p = p.contiguous(x.dim() == 4 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::ChannelsLast3d);
  return p;
}

Tensor unpadSpatial(Tensor x, const Geometry& g, const std::vector<int64_t>& sizes) {
  for (size_t d = 0; d < g.before.size(); d++) x = x.narrow(2 + d, g.before[d], sizes[d]);
  return x;
}

Tensor toFirst(const Tensor& x, const Geometry& g) { return g.nchw ? x : channelsFirst(x.contiguous()); }
Tensor toLast(const Tensor& y, const Geometry& g) { return g.nchw ? y.contiguous() : channelsLast(y); }

// tfjs filter [k.., cin, cout] (or depthwise [kh, kw, cin, mult]) -> torch [cout, cin/groups, k..]
Tensor weightOf(const Tensor& f, bool depthwise) {
  if (depthwise) return f.reshape({f.size(0), f.size(1), f.size(2) * f.size(3)}).permute({2, 0, 1}).unsqueeze(1);
  std::vector<int64_t> perm = {f.dim() - 1, f.dim() - 2};
  for (int64_t d = 0; d < f.dim() - 2; d++) perm.push_back(d);
  return f.permute(perm);
}

// torch filter gradient back to tfjs's filter layout
Tensor filterOf(const Tensor& w, const std::vector<int64_t>& filterShape, bool depthwise) {
  if (depthwise) return w.squeeze(1).permute({1, 2, 0}).contiguous().reshape(filterShape);
  std::vector<int64_t> perm;
  for (int64_t d = 2; d < w.dim(); d++) perm.push_back(d);
  perm.push_back(1);
  perm.push_back(0);
  return w.permute(perm).contiguous();
}

std::vector<int64_t> spatialOf(const std::vector<int64_t>& shape, bool nchw) {
  return nchw ? std::vector<int64_t>(shape.begin() + 2, shape.end()) : std::vector<int64_t>(shape.begin() + 1, shape.end() - 1);
}

std::vector<int64_t> firstShape(const std::vector<int64_t>& shape, bool nchw) {
  if (nchw) return shape;
  std::vector<int64_t> s = {shape[0], shape.back()};
  s.insert(s.end(), shape.begin() + 1, shape.end() - 1);
  return s;
}

at::MemoryFormat layoutFor(size_t rank, bool nchw) {
  if (nchw) return at::MemoryFormat::Contiguous;
  return rank == 4 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::ChannelsLast3d;
}

}  // namespace

// conv(x, filter, strides, pads, dilations, depthwise, nchw, bias|null, activation, prelu|null, leakyAlpha)
KILN_OP(conv) {
  const Tensor& x = c.t(0);
  const Tensor& f = c.t(1);
  const size_t nd = x.dim() - 2;
  Geometry g = geometry(c, 2, nd);
  const bool depthwise = c.b(5);
  g.nchw = c.b(6);
  const Tensor bias = c.optT(7);
  Tensor xf = toFirst(x, g);
  const int64_t channels = xf.size(1);
  const bool sym = g.symmetric();
  if (!sym) xf = padSpatial(xf, g, 0);
  const int64_t outChannels = depthwise ? f.size(2) * f.size(3) : f.size(-1);
  const bool channelBias = bias.defined() && bias.dim() == 1 && bias.size(0) == outChannels;
  Tensor y = at::convolution(xf, weightOf(f, depthwise), channelBias ? c10::optional<Tensor>(bias) : c10::nullopt, g.strides,
                             sym ? g.before : g.zeros(), g.dilations, false, g.zeros(), depthwise ? channels : 1);
  y = toLast(y, g);
  if (bias.defined() && !channelBias) y = y + bias;
  return c.out(activate(y, c.i64(8), c.optT(9), c.f64(10)));
}

// convBackpropInput(dy, filter, inputShape, strides, pads, dilations, depthwise, nchw)
KILN_OP(convBackpropInput) {
  const Tensor& dy = c.t(0);
  const Tensor& f = c.t(1);
  const std::vector<int64_t> inputShape = c.ints(2);
  const size_t nd = dy.dim() - 2;
  Geometry g = geometry(c, 3, nd);
  const bool depthwise = c.b(6);
  g.nchw = c.b(7);
  const bool sym = g.symmetric();
  std::vector<int64_t> shape = firstShape(inputShape, g.nchw);
  const std::vector<int64_t> spatial = spatialOf(inputShape, g.nchw);
  if (!sym) {
    for (size_t d = 0; d < nd; d++) shape[2 + d] += g.before[d] + g.after[d];
  }
  // Only the input's sizes and layout matter for the input gradient; its values are never read.
  const Tensor input = at::empty(shape, dy.options().memory_format(layoutFor(dy.dim(), g.nchw)));
  auto grads = at::convolution_backward(toFirst(dy, g), input, weightOf(f, depthwise), c10::nullopt, g.strides,
                                        sym ? g.before : g.zeros(), g.dilations, false, g.zeros(),
                                        depthwise ? shape[1] : 1, {true, false, false});
  Tensor dx = std::get<0>(grads);
  if (!sym) dx = unpadSpatial(dx, g, spatial);
  return c.out(toLast(dx, g));
}

namespace {

struct DepthwiseDims {
  int64_t h, w, channels, mult, oh, ow, kh, kw, sh, sw, dh, dw, top, left;
};

// Adds the depthwise filter gradient of examples [b0, b1) to acc [kh][kw][channels] (multiplier 1).
// For each output row and tap, eight channels at a time are summed over the row's pixels in
// registers and added to acc once: x and dy are read, acc is not re-read per pixel.
KILN_SIMD void depthwiseFilterBatch(const float* __restrict x, const float* __restrict dy, float* __restrict acc, int64_t b0, int64_t b1,
                                    const DepthwiseDims& d) {
  const int64_t C = d.channels;
  for (int64_t b = b0; b < b1; b++)
    for (int64_t r = 0; r < d.oh; r++) {
      const float* gRow = dy + (b * d.oh + r) * d.ow * C;
      for (int64_t i = 0; i < d.kh; i++) {
        const int64_t ih = r * d.sh + i * d.dh - d.top;
        if (ih < 0 || ih >= d.h) continue;
        const float* xRow = x + (b * d.h + ih) * d.w * C;
        for (int64_t j = 0; j < d.kw; j++) {
          // Output columns whose input column j taps lies inside the image.
          int64_t c0 = 0, c1 = d.ow;
          while (c0 < c1 && c0 * d.sw + j * d.dw - d.left < 0) c0++;
          while (c1 > c0 && (c1 - 1) * d.sw + j * d.dw - d.left >= d.w) c1--;
          float* a = acc + (i * d.kw + j) * C;
          int64_t ch = 0;
          for (; ch + 8 <= C; ch += 8) {
            float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (int64_t col = c0; col < c1; col++) {
              const float* xp = xRow + (col * d.sw + j * d.dw - d.left) * C + ch;
              const float* gp = gRow + col * C + ch;
              for (int k = 0; k < 8; k++) s[k] += xp[k] * gp[k];
            }
            for (int k = 0; k < 8; k++) a[ch + k] += s[k];
          }
          for (; ch < C; ch++) {
            float s = 0;
            for (int64_t col = c0; col < c1; col++) s += xRow[(col * d.sw + j * d.dw - d.left) * C + ch] * gRow[col * C + ch];
            a[ch] += s;
          }
        }
      }
    }
}

// The depthwise filter gradient directly in NHWC, examples split among threads, each with its own
// accumulator: for a 7x7 filter over 32x7x7x144, 0.6 ms where oneDNN's (and so PyTorch's) takes 3.3.
Tensor depthwiseFilterGrad(const Tensor& x0, const Tensor& dy0, const std::vector<int64_t>& filterShape, const Geometry& g) {
  const Tensor x = x0.contiguous(), dy = dy0.to(at::kFloat).contiguous();
  const DepthwiseDims d = {x.size(1), x.size(2), x.size(3), filterShape[3], dy.size(1), dy.size(2), filterShape[0], filterShape[1],
                           g.strides[0], g.strides[1], g.dilations[0], g.dilations[1], g.before[0], g.before[1]};
  require(filterShape[2] == d.channels && d.mult == 1 && dy.size(3) == d.channels, "depthwise filter gradient: channel counts differ");
  const int64_t n = x.size(0), size = d.kh * d.kw * d.channels * d.mult;
  const int64_t tasks = std::max<int64_t>(1, std::min<int64_t>(n, at::get_num_threads()));
  std::vector<std::vector<float>> partial(tasks, std::vector<float>(size, 0.0f));
  const float* px = x.data_ptr<float>();
  const float* pdy = dy.data_ptr<float>();
  at::parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) depthwiseFilterBatch(px, pdy, partial[t].data(), n * t / tasks, n * (t + 1) / tasks, d);
  });
  Tensor grad = at::empty({d.kh, d.kw, d.channels, d.mult}, x.options());
  float* pg = grad.data_ptr<float>();
  for (int64_t k = 0; k < size; k++) {
    float sum = 0;
    for (int64_t t = 0; t < tasks; t++) sum += partial[t][k];
    pg[k] = sum;
  }
  return grad;
}

}  // namespace

// convBackpropFilter(x, dy, filterShape, strides, pads, dilations, depthwise, nchw)
KILN_OP(convBackpropFilter) {
  const Tensor& x = c.t(0);
  const Tensor& dy = c.t(1);
  const std::vector<int64_t> filterShape = c.ints(2);
  const size_t nd = x.dim() - 2;
  Geometry g = geometry(c, 3, nd);
  const bool depthwise = c.b(6);
  g.nchw = c.b(7);
  // oneDNN's depthwise filter gradient is fast for 3x3 windows and slow for larger ones.
  if (depthwise && !g.nchw && nd == 2 && x.scalar_type() == at::kFloat && filterShape[3] == 1 && filterShape[0] * filterShape[1] > 9) {
    return c.out(depthwiseFilterGrad(x, dy, filterShape, g));
  }
  const bool sym = g.symmetric();
  Tensor xf = toFirst(x, g);
  const int64_t channels = xf.size(1);
  if (!sym) xf = padSpatial(xf, g, 0);
  std::vector<int64_t> wShape;
  if (depthwise) {
    wShape = {filterShape[2] * filterShape[3], 1, filterShape[0], filterShape[1]};
  } else {
    wShape = {filterShape.back(), filterShape[filterShape.size() - 2]};
    wShape.insert(wShape.end(), filterShape.begin(), filterShape.end() - 2);
  }
  const Tensor weight = at::empty(wShape, x.options());  // sizes only, as above
  auto grads = at::convolution_backward(toFirst(dy, g), xf, weight, c10::nullopt, g.strides, sym ? g.before : g.zeros(),
                                        g.dilations, false, g.zeros(), depthwise ? channels : 1, {false, true, false});
  return c.out(filterOf(std::get<1>(grads), filterShape, depthwise));
}

namespace {

struct PoolArgs {
  std::vector<int64_t> kernel;
  Geometry g;
  bool padded;  // explicit padding instead of torch's implicit symmetric padding
};

PoolArgs poolArgs(const Call& c, size_t first, size_t nd) {
  PoolArgs p;
  p.kernel = c.ints(first);
  require(p.kernel.size() == nd, "pool kernel has the wrong rank");
  p.g = geometry(c, first + 1, nd, false);
  bool fits = p.g.symmetric();
  for (size_t d = 0; d < nd; d++) fits = fits && 2 * p.g.before[d] <= p.kernel[d];
  p.padded = !fits;
  return p;
}

Tensor maxPoolFirst(const Tensor& xf, const PoolArgs& p) {
  const std::vector<int64_t> pad = p.padded ? p.g.zeros() : p.g.before;
  return xf.dim() == 4 ? at::max_pool2d(xf, p.kernel, p.g.strides, pad) : at::max_pool3d(xf, p.kernel, p.g.strides, pad);
}

Tensor avgPoolFirst(const Tensor& xf, const PoolArgs& p, bool countPad, c10::optional<int64_t> divisor) {
  const std::vector<int64_t> pad = p.padded ? p.g.zeros() : p.g.before;
  return xf.dim() == 4 ? at::avg_pool2d(xf, p.kernel, p.g.strides, pad, false, countPad, divisor)
                       : at::avg_pool3d(xf, p.kernel, p.g.strides, pad, false, countPad, divisor);
}

// Per-window count of real (unpadded) elements, for averages over explicitly padded inputs.
Tensor windowCounts(const Tensor& xf, const PoolArgs& p) {
  std::vector<int64_t> shape = {1, 1};
  for (int64_t d = 2; d < xf.dim(); d++) shape.push_back(xf.size(d));
  Geometry g = p.g;
  g.nchw = true;
  return avgPoolFirst(padSpatial(at::ones(shape, xf.options()), g, 0), p, true, 1);
}

}  // namespace

// pool(x, isMax, kernel, strides, pads): tfjs pools ignore padding (max over real values, average
// over the real values in each window).
KILN_OP(pool) {
  const Tensor& x = c.t(0);
  const bool isMax = c.b(1);
  const PoolArgs p = poolArgs(c, 2, x.dim() - 2);
  Tensor xf = channelsFirst(x.contiguous());
  Tensor y;
  if (isMax) {
    y = maxPoolFirst(p.padded ? padSpatial(xf, p.g, -INFINITY) : xf, p);
  } else if (!p.padded) {
    y = avgPoolFirst(xf, p, false, c10::nullopt);
  } else {
    y = avgPoolFirst(padSpatial(xf, p.g, 0), p, true, 1) / windowCounts(xf, p);
  }
  return c.out(channelsLast(y));
}

// poolGrad(dy, x, isMax, kernel, strides, pads)
KILN_OP(poolGrad) {
  const Tensor& dy = c.t(0);
  const Tensor& x = c.t(1);
  const bool isMax = c.b(2);
  const size_t nd = x.dim() - 2;
  const PoolArgs p = poolArgs(c, 3, nd);
  Tensor xf = channelsFirst(x.contiguous());
  Tensor dyf = channelsFirst(dy.contiguous());
  const std::vector<int64_t> spatial(xf.sizes().begin() + 2, xf.sizes().end());
  const std::vector<int64_t> pad = p.padded ? p.g.zeros() : p.g.before;
  const std::vector<int64_t> ones(nd, 1);
  Tensor dx;
  if (isMax) {
    // tfjs passes the input, torch wants the argmax indices: recompute them.
    const Tensor in = p.padded ? padSpatial(xf, p.g, -INFINITY) : xf;
    if (nd == 2) {
      auto [out, idx] = at::max_pool2d_with_indices(in, p.kernel, p.g.strides, pad, ones, false);
      dx = at::max_pool2d_with_indices_backward(dyf, in, p.kernel, p.g.strides, pad, ones, false, idx);
    } else {
      auto [out, idx] = at::max_pool3d_with_indices(in, p.kernel, p.g.strides, pad, ones, false);
      dx = at::max_pool3d_with_indices_backward(dyf, in, p.kernel, p.g.strides, pad, ones, false, idx);
    }
  } else if (!p.padded) {
    dx = nd == 2 ? at::avg_pool2d_backward(dyf, xf, p.kernel, p.g.strides, pad, false, false, c10::nullopt)
                 : at::avg_pool3d_backward(dyf, xf, p.kernel, p.g.strides, pad, false, false, c10::nullopt);
  } else {
    const Tensor in = padSpatial(xf, p.g, 0);
    const Tensor scaled = dyf / windowCounts(xf, p);
    dx = nd == 2 ? at::avg_pool2d_backward(scaled, in, p.kernel, p.g.strides, pad, false, true, 1)
                 : at::avg_pool3d_backward(scaled, in, p.kernel, p.g.strides, pad, false, true, 1);
  }
  if (p.padded) dx = unpadSpatial(dx, p.g, spatial);
  return c.out(channelsLast(dx));
}

// batchNorm(x, mean, variance, offset|null, scale|null, epsilon): (x - mean) / sqrt(var + eps) * scale + offset.
// Statistics of one value per channel become one multiply-add pass over x.
KILN_OP(batchNorm) {
  const Tensor& x = c.t(0);
  const Tensor& mean = c.t(1);
  const Tensor& variance = c.t(2);
  const Tensor offset = c.optT(3);
  const Tensor scale = c.optT(4);
  Tensor factor = at::rsqrt(variance + c.f64(5));
  if (scale.defined()) factor = factor * scale;
  Tensor shift = -mean * factor;
  if (offset.defined()) shift = shift + offset;
  return c.out(at::addcmul(shift, x, factor));
}
