// Fused kernels for the hot spots of training, each one pass over memory where tfjs's composite
// takes several: activation gradients, batch normalization in training mode (statistics, normalize,
// gradient) and the Adam update. Each reproduces the values of tfjs's composite (NaN handling
// included); the Adam update does the same float32 operations in the same order, so its results
// are bitwise those of tf.train.adam.
#include "kiln.h"

#include <ATen/Parallel.h>

#include <cmath>

using namespace kiln;
using at::Tensor;

namespace {

constexpr int64_t kGrain = 16384;

Tensor dense(const Tensor& t) { return t.to(at::kFloat).contiguous(); }

void requireSameSize(const Tensor& a, const Tensor& b, const char* what) {
  require(a.sizes() == b.sizes(), std::string(what) + ": operand shapes differ");
}

// out[i] = f(a[i], b[i]) over two same-shaped float tensors.
template <typename F>
Tensor zipFloat(const Tensor& a0, const Tensor& b0, F f) {
  const Tensor a = dense(a0), b = dense(b0);
  Tensor out = at::empty_like(a);
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  float* po = out.data_ptr<float>();
  at::parallel_for(0, a.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) po[i] = f(pa[i], pb[i]);
  });
  return out;
}

}  // namespace

// The masks tfjs multiplies dy by: step(x) for Relu (NaN where x is NaN), (x <= 6) * step(x) for
// Relu6. Multiplying (rather than selecting dy) keeps tfjs's dy * 0 = NaN for infinite dy.
inline float reluMask(float x) {
  const float m = x > 0 ? 1.0f : 0.0f;
  return x != x ? x : m;
}

// reluGrad(dy, x)
KILN_OP(reluGrad) {
  requireSameSize(c.t(0), c.t(1), "ReluGrad");
  return c.out(zipFloat(c.t(0), c.t(1), [](float dy, float x) { return dy * reluMask(x); }));
}

// relu6Grad(dy, x)
KILN_OP(relu6Grad) {
  requireSameSize(c.t(0), c.t(1), "Relu6Grad");
  return c.out(zipFloat(c.t(0), c.t(1), [](float dy, float x) { return dy * (reluMask(x) * (x <= 6 ? 1.0f : 0.0f)); }));
}

// clipGrad(dy, x, min, max): tfjs's where(min <= x <= max, dy, 0).
KILN_OP(clipGrad) {
  requireSameSize(c.t(0), c.t(1), "ClipByValueGrad");
  const float lo = static_cast<float>(c.f64(2)), hi = static_cast<float>(c.f64(3));
  return c.out(zipFloat(c.t(0), c.t(1), [lo, hi](float dy, float x) { return x >= lo && x <= hi ? dy : 0.0f; }));
}

// stepFloat(x, alpha): 1 where x > 0, NaN where NaN, else alpha (float32 x).
KILN_OP(stepFloat) {
  const Tensor x = dense(c.t(0));
  const float alpha = static_cast<float>(c.f64(1));
  Tensor out = at::empty_like(x);
  const float* px = x.data_ptr<float>();
  float* po = out.data_ptr<float>();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) po[i] = px[i] > 0 ? 1.0f : (px[i] != px[i] ? px[i] : alpha);
  });
  return c.out(out);
}

namespace {

// Per-channel sums over the rows of a [rows, channels] float matrix (channels contiguous), with
// float partial sums per block of rows and double totals.
template <typename RowTerm>
std::vector<double> channelSums(int64_t rows, int64_t channels, RowTerm term) {
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(rows / 64, at::get_num_threads() * 4));
  std::vector<std::vector<double>> partial(blocks, std::vector<double>(channels, 0.0));
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> acc(channels);
    for (int64_t blk = b0; blk < b1; blk++) {
      const int64_t r0 = rows * blk / blocks, r1 = rows * (blk + 1) / blocks;
      for (int64_t r = r0; r < r1; r += 64) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        const int64_t rEnd = std::min(r + 64, r1);
        for (int64_t i = r; i < rEnd; i++) term(i, acc.data());
        for (int64_t ch = 0; ch < channels; ch++) partial[blk][ch] += acc[ch];
      }
    }
  });
  std::vector<double> total(channels, 0.0);
  for (const auto& p : partial)
    for (int64_t ch = 0; ch < channels; ch++) total[ch] += p[ch];
  return total;
}

Tensor channelVector(const std::vector<double>& v) {
  Tensor t = at::empty({static_cast<int64_t>(v.size())}, at::kFloat);
  float* p = t.data_ptr<float>();
  for (size_t k = 0; k < v.size(); k++) p[k] = static_cast<float>(v[k]);
  return t;
}

}  // namespace

// batchNormTrain(x, scale, offset, movingMean, movingVariance, epsilon, decay) -> [y, mean, variance,
// movingMean', movingVariance']: normalizes over every axis but the last with the batch's own
// statistics (two-pass mean and biased variance, as tf.moments) and updates the moving averages as
// tf.layers.batchNormalization does: moving - (moving - batch) * decay, in float32.
KILN_OP(batchNormTrain) {
  const Tensor x = dense(c.t(0));
  const Tensor scale = dense(c.t(1));
  const Tensor offset = dense(c.t(2));
  const Tensor movingMean = dense(c.t(3));
  const Tensor movingVariance = dense(c.t(4));
  const double eps = c.f64(5);
  const float decay = static_cast<float>(c.f64(6));
  require(x.dim() >= 2, "batch norm needs at least 2 dimensions");
  const int64_t channels = x.size(-1);
  const int64_t rows = x.numel() / std::max<int64_t>(channels, 1);
  require(scale.numel() == channels && offset.numel() == channels && movingMean.numel() == channels && movingVariance.numel() == channels,
          "batch norm parameters differ in size from the channels");
  const float* px = x.data_ptr<float>();
  std::vector<double> mean = channelSums(rows, channels, [&](int64_t r, float* acc) {
    const float* row = px + r * channels;
    for (int64_t ch = 0; ch < channels; ch++) acc[ch] += row[ch];
  });
  for (double& m : mean) m /= static_cast<double>(rows);
  std::vector<float> meanF(mean.begin(), mean.end());
  std::vector<double> var = channelSums(rows, channels, [&](int64_t r, float* acc) {
    const float* row = px + r * channels;
    for (int64_t ch = 0; ch < channels; ch++) {
      const float d = row[ch] - meanF[ch];
      acc[ch] += d * d;
    }
  });
  for (double& v : var) v /= static_cast<double>(rows);
  std::vector<float> factor(channels), shift(channels);
  const float* ps = scale.data_ptr<float>();
  const float* pb = offset.data_ptr<float>();
  for (int64_t ch = 0; ch < channels; ch++) {
    factor[ch] = static_cast<float>(ps[ch] / std::sqrt(var[ch] + eps));
    shift[ch] = pb[ch];
  }
  Tensor y = at::empty_like(x);
  float* py = y.data_ptr<float>();
  at::parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(channels, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* row = px + r * channels;
      float* out = py + r * channels;
      for (int64_t ch = 0; ch < channels; ch++) out[ch] = (row[ch] - meanF[ch]) * factor[ch] + shift[ch];
    }
  });
  const Tensor meanT = channelVector(mean), varT = channelVector(var);
  auto moving = [decay](const Tensor& old, const Tensor& batch) {
    Tensor out = at::empty_like(old);
    const float* po = old.data_ptr<float>();
    const float* pb = batch.data_ptr<float>();
    float* pr = out.data_ptr<float>();
    for (int64_t k = 0; k < old.numel(); k++) pr[k] = po[k] - (po[k] - pb[k]) * decay;
    return out;
  };
  return c.outs({y, meanT, varT, moving(movingMean, meanT), moving(movingVariance, varT)});
}

// batchNormTrainGrad(dy, x, scale, mean, variance, epsilon) -> [dx, dscale, doffset]: the gradient
// through the normalization and through the batch statistics.
KILN_OP(batchNormTrainGrad) {
  const Tensor dy = dense(c.t(0));
  const Tensor x = dense(c.t(1));
  const Tensor scale = dense(c.t(2));
  const Tensor mean = dense(c.t(3));
  const Tensor variance = dense(c.t(4));
  const double eps = c.f64(5);
  requireSameSize(dy, x, "batch norm gradient");
  const int64_t channels = x.size(-1);
  const int64_t rows = x.numel() / std::max<int64_t>(channels, 1);
  const float* px = x.data_ptr<float>();
  const float* pdy = dy.data_ptr<float>();
  const float* pm = mean.data_ptr<float>();
  // Sums of dy and of dy * (x - mean) per channel, in one pass.
  std::vector<double> sums = channelSums(rows, 2 * channels, [&](int64_t r, float* acc) {
    const float* row = px + r * channels;
    const float* g = pdy + r * channels;
    for (int64_t ch = 0; ch < channels; ch++) {
      acc[ch] += g[ch];
      acc[channels + ch] += g[ch] * (row[ch] - pm[ch]);
    }
  });
  const float* ps = scale.data_ptr<float>();
  const float* pv = variance.data_ptr<float>();
  std::vector<double> dscale(channels), doffset(channels);
  std::vector<float> a(channels), b(channels), k(channels);
  for (int64_t ch = 0; ch < channels; ch++) {
    const double invStd = 1.0 / std::sqrt(pv[ch] + eps);
    doffset[ch] = sums[ch];
    dscale[ch] = sums[channels + ch] * invStd;
    // dx = scale * invStd * (dy - mean(dy) - (x - mean) * invStd^2 * mean(dy * (x - mean)))
    a[ch] = static_cast<float>(ps[ch] * invStd);
    b[ch] = static_cast<float>(sums[ch] / rows);
    k[ch] = static_cast<float>(invStd * invStd * sums[channels + ch] / rows);
  }
  Tensor dx = at::empty_like(x);
  float* pdx = dx.data_ptr<float>();
  at::parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(channels, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* row = px + r * channels;
      const float* g = pdy + r * channels;
      float* out = pdx + r * channels;
      for (int64_t ch = 0; ch < channels; ch++) out[ch] = a[ch] * (g[ch] - b[ch] - (row[ch] - pm[ch]) * k[ch]);
    }
  });
  return c.outs({dx, channelVector(dscale), channelVector(doffset)});
}

// adam(value, m, v, g, lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, oneMinusAccBeta1,
// oneMinusAccBeta2) -> [value', m', v']: tf.train.adam's update, every constant already rounded to
// float32 by the caller and every operation in tfjs's order.
KILN_OP(adam) {
  const Tensor w = dense(c.t(0)), m = dense(c.t(1)), v = dense(c.t(2)), g = dense(c.t(3));
  requireSameSize(w, m, "Adam");
  requireSameSize(w, v, "Adam");
  requireSameSize(w, g, "Adam");
  const float negLr = static_cast<float>(-c.f64(4));
  const float b1 = static_cast<float>(c.f64(5)), c1 = static_cast<float>(c.f64(6));
  const float b2 = static_cast<float>(c.f64(7)), c2 = static_cast<float>(c.f64(8));
  const float eps = static_cast<float>(c.f64(9));
  const float acc1 = static_cast<float>(c.f64(10)), acc2 = static_cast<float>(c.f64(11));
  Tensor w2 = at::empty_like(w), m2 = at::empty_like(m), v2 = at::empty_like(v);
  const float *pw = w.data_ptr<float>(), *pm = m.data_ptr<float>(), *pv = v.data_ptr<float>(), *pg = g.data_ptr<float>();
  float *ow = w2.data_ptr<float>(), *om = m2.data_ptr<float>(), *ov = v2.data_ptr<float>();
  at::parallel_for(0, w.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float gi = pg[i];
      const float mi = pm[i] * b1 + gi * c1;
      const float vi = pv[i] * b2 + (gi * gi) * c2;
      om[i] = mi;
      ov[i] = vi;
      const float update = (mi / acc1) / (std::sqrt(vi / acc2) + eps);
      ow[i] = update * negLr + pw[i];
    }
  });
  return c.outs({w2, m2, v2});
}
