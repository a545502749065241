// Fused kernels for the hot spots of training, each one pass over memory where tfjs's composite
// takes several: activation gradients, batch normalization in training mode (statistics, normalize,
// gradient, moving averages) and the Adam update. Each reproduces the values of tfjs's composite
// (NaN handling included); the Adam update does the same float32 operations in the same order, so
// its results are bitwise those of tf.train.adam.
//
// The loops are plain functions without branches, compiled for AVX2 and for the x86-64 baseline
// (picked at load time) and with -fno-trapping-math, so that they vectorize; a branch per element
// on random signs cost 8x. They run on ATen's thread pool (this file is built with -fopenmp).
#include "kiln.h"

#include <ATen/Parallel.h>

#include <cmath>

using namespace kiln;
using at::Tensor;


namespace {

constexpr int64_t kGrain = 32768;  // elements per task: below this a loop stays on one thread

// The masks tfjs multiplies dy by: step(x) for Relu (NaN where x is NaN), (x <= 6) * step(x) for
// Relu6. Multiplying (rather than selecting dy) keeps tfjs's dy * 0 = NaN for infinite dy.
inline float reluMask(float x) {
  const float m = x > 0 ? 1.0f : 0.0f;
  return x != x ? x : m;
}

KILN_SIMD void reluGradLoop(const float* __restrict dy, const float* __restrict x, float* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = dy[i] * reluMask(x[i]);
}

KILN_SIMD void relu6GradLoop(const float* __restrict dy, const float* __restrict x, float* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = dy[i] * (reluMask(x[i]) * (x[i] <= 6 ? 1.0f : 0.0f));
}

KILN_SIMD void clipGradLoop(const float* __restrict dy, const float* __restrict x, float* __restrict o, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; i++) {
    const bool inside = (x[i] >= lo) & (x[i] <= hi);  // not &&: no branch
    o[i] = inside ? dy[i] : 0.0f;
  }
}

KILN_SIMD void stepLoop(const float* __restrict x, float* __restrict o, int64_t n, float alpha) {
  for (int64_t i = 0; i < n; i++) {
    const float s = x[i] > 0 ? 1.0f : alpha;
    o[i] = x[i] != x[i] ? x[i] : s;
  }
}

struct AdamConstants {
  float negLr, b1, c1, b2, c2, eps, acc1, acc2;
};

KILN_SIMD void adamLoop(const float* __restrict w, const float* __restrict m, const float* __restrict v, const float* __restrict g,
                        float* __restrict ow, float* __restrict om, float* __restrict ov, int64_t n, AdamConstants k) {
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * k.b1 + gi * k.c1;
    const float vi = v[i] * k.b2 + (gi * gi) * k.c2;
    om[i] = mi;
    ov[i] = vi;
    ow[i] = ((mi / k.acc1) / (std::sqrt(vi / k.acc2) + k.eps)) * k.negLr + w[i];
  }
}

// acc[c] += x[r][c] over rows
KILN_SIMD void addRows(const float* __restrict x, int64_t rows, int64_t channels, float* __restrict acc) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < channels; c++) acc[c] += x[r * channels + c];
}

// acc[c] += (x[r][c] - mean[c])^2 over rows
KILN_SIMD void addSquaredDeviations(const float* __restrict x, int64_t rows, int64_t channels, const float* __restrict mean, float* __restrict acc) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < channels; c++) {
      const float d = x[r * channels + c] - mean[c];
      acc[c] += d * d;
    }
}

// acc[c] += dy[r][c]; acc[channels + c] += dy[r][c] * (x[r][c] - mean[c]) over rows
KILN_SIMD void addGradientSums(const float* __restrict dy, const float* __restrict x, int64_t rows, int64_t channels, const float* __restrict mean,
                               float* __restrict acc) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < channels; c++) {
      const float g = dy[r * channels + c];
      acc[c] += g;
      acc[channels + c] += g * (x[r * channels + c] - mean[c]);
    }
}

// out = (x - mean) * factor + shift, row by row
KILN_SIMD void normalizeRows(const float* __restrict x, float* __restrict out, int64_t rows, int64_t channels, const float* __restrict mean,
                             const float* __restrict factor, const float* __restrict shift) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < channels; c++) out[r * channels + c] = (x[r * channels + c] - mean[c]) * factor[c] + shift[c];
}

// dx = a * (dy - b - (x - mean) * k), row by row
KILN_SIMD void batchNormGradRows(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t rows, int64_t channels,
                                 const float* __restrict mean, const float* __restrict a, const float* __restrict b, const float* __restrict k) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < channels; c++) {
      const int64_t i = r * channels + c;
      dx[i] = a[c] * (dy[i] - b[c] - (x[i] - mean[c]) * k[c]);
    }
}

Tensor dense(const Tensor& t) { return t.to(at::kFloat).contiguous(); }

void requireSameSize(const Tensor& a, const Tensor& b, const char* what) {
  require(a.sizes() == b.sizes(), std::string(what) + ": operand shapes differ");
}

// Runs loop(offset, count) over [0, n) on the thread pool.
template <typename Loop>
void chunks(int64_t n, int64_t grain, Loop loop) {
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) { loop(begin, end - begin); });
}

// out = loop(a, b) elementwise, for same-shaped float tensors.
template <typename Loop>
Tensor zip(const Tensor& a0, const Tensor& b0, const char* what, Loop loop) {
  requireSameSize(a0, b0, what);
  const Tensor a = dense(a0), b = dense(b0);
  Tensor out = at::empty_like(a);
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  float* po = out.data_ptr<float>();
  chunks(a.numel(), kGrain, [&](int64_t i, int64_t n) { loop(pa + i, pb + i, po + i, n); });
  return out;
}

// Per-channel sums over the rows of a [rows, channels] matrix: float partial sums over blocks of
// 64 rows, added up in double.
template <typename AddBlock>
std::vector<double> channelSums(int64_t rows, int64_t width, AddBlock addBlock) {
  const int64_t blocks = (rows + 63) / 64;
  const int64_t tasks = std::max<int64_t>(1, std::min<int64_t>(blocks, at::get_num_threads()));
  std::vector<std::vector<double>> partial(tasks, std::vector<double>(width, 0.0));
  at::parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> acc(width);
    for (int64_t t = t0; t < t1; t++) {
      const int64_t r0 = rows * t / tasks, r1 = rows * (t + 1) / tasks;
      for (int64_t r = r0; r < r1; r += 64) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        addBlock(r, std::min<int64_t>(64, r1 - r), acc.data());
        for (int64_t c = 0; c < width; c++) partial[t][c] += acc[c];
      }
    }
  });
  std::vector<double> total(width, 0.0);
  for (const auto& p : partial)
    for (int64_t c = 0; c < width; c++) total[c] += p[c];
  return total;
}

Tensor channelVector(const std::vector<double>& v) {
  Tensor t = at::empty({static_cast<int64_t>(v.size())}, at::kFloat);
  float* p = t.data_ptr<float>();
  for (size_t k = 0; k < v.size(); k++) p[k] = static_cast<float>(v[k]);
  return t;
}

// Rows per task of a row-wise loop over `channels` columns.
int64_t rowGrain(int64_t channels) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(channels, 1)); }

}  // namespace

// reluGrad(dy, x)
KILN_OP(reluGrad) {
  return c.out(zip(c.t(0), c.t(1), "ReluGrad", reluGradLoop));
}

// relu6Grad(dy, x)
KILN_OP(relu6Grad) {
  return c.out(zip(c.t(0), c.t(1), "Relu6Grad", relu6GradLoop));
}

// clipGrad(dy, x, min, max): tfjs's where(min <= x <= max, dy, 0).
KILN_OP(clipGrad) {
  const float lo = static_cast<float>(c.f64(2)), hi = static_cast<float>(c.f64(3));
  return c.out(zip(c.t(0), c.t(1), "ClipByValueGrad",
                   [lo, hi](const float* dy, const float* x, float* o, int64_t n) { clipGradLoop(dy, x, o, n, lo, hi); }));
}

// stepFloat(x, alpha): 1 where x > 0, NaN where NaN, else alpha (float32 x).
KILN_OP(stepFloat) {
  const Tensor x = dense(c.t(0));
  const float alpha = static_cast<float>(c.f64(1));
  Tensor out = at::empty_like(x);
  const float* px = x.data_ptr<float>();
  float* po = out.data_ptr<float>();
  chunks(x.numel(), kGrain, [&](int64_t i, int64_t n) { stepLoop(px + i, po + i, n, alpha); });
  return c.out(out);
}

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
  std::vector<double> mean = channelSums(rows, channels, [&](int64_t r, int64_t n, float* acc) { addRows(px + r * channels, n, channels, acc); });
  for (double& m : mean) m /= static_cast<double>(rows);
  std::vector<float> meanF(mean.begin(), mean.end());
  std::vector<double> var = channelSums(rows, channels, [&](int64_t r, int64_t n, float* acc) {
    addSquaredDeviations(px + r * channels, n, channels, meanF.data(), acc);
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
  chunks(rows, rowGrain(channels), [&](int64_t r, int64_t n) {
    normalizeRows(px + r * channels, py + r * channels, n, channels, meanF.data(), factor.data(), shift.data());
  });
  const Tensor meanT = channelVector(mean), varT = channelVector(var);
  auto moving = [decay](const Tensor& old, const Tensor& batch) {
    Tensor out = at::empty_like(old);
    const float* po = old.data_ptr<float>();
    const float* pbatch = batch.data_ptr<float>();
    float* pr = out.data_ptr<float>();
    for (int64_t k = 0; k < old.numel(); k++) pr[k] = po[k] - (po[k] - pbatch[k]) * decay;
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
  std::vector<double> sums = channelSums(rows, 2 * channels, [&](int64_t r, int64_t n, float* acc) {
    addGradientSums(pdy + r * channels, px + r * channels, n, channels, pm, acc);
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
  chunks(rows, rowGrain(channels), [&](int64_t r, int64_t n) {
    batchNormGradRows(pdy + r * channels, px + r * channels, pdx + r * channels, n, channels, pm, a.data(), b.data(), k.data());
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
  const AdamConstants k = {static_cast<float>(-c.f64(4)), static_cast<float>(c.f64(5)),  static_cast<float>(c.f64(6)),
                           static_cast<float>(c.f64(7)),  static_cast<float>(c.f64(8)),  static_cast<float>(c.f64(9)),
                           static_cast<float>(c.f64(10)), static_cast<float>(c.f64(11))};
  Tensor w2 = at::empty_like(w), m2 = at::empty_like(m), v2 = at::empty_like(v);
  const float *pw = w.data_ptr<float>(), *pm = m.data_ptr<float>(), *pv = v.data_ptr<float>(), *pg = g.data_ptr<float>();
  float *ow = w2.data_ptr<float>(), *om = m2.data_ptr<float>(), *ov = v2.data_ptr<float>();
  chunks(w.numel(), kGrain, [&](int64_t i, int64_t n) { adamLoop(pw + i, pm + i, pv + i, pg + i, ow + i, om + i, ov + i, n, k); });
  return c.outs({w2, m2, v2});
}
