// Reductions, scans, softmax, top-k and segment sums.
#include "kiln.h"

#include <algorithm>

using namespace kiln;
using at::Tensor;

namespace {

enum Reduce : int64_t { kSum = 0, kProd, kMean, kMax, kMin, kAll, kAny };

// Reduces one axis at a time from the last, so earlier axis numbers stay valid without keepDims.
template <typename F>
Tensor perAxis(Tensor x, std::vector<int64_t> axes, bool keepDims, F&& reduceOne) {
  std::sort(axes.rbegin(), axes.rend());
  for (int64_t a : axes) x = reduceOne(x, a, keepDims);
  return x;
}

}  // namespace

// reduce(code, x, axes, keepDims). No axes is the identity, as in tfjs (torch would reduce all).
KILN_OP(reduce) {
  const int64_t code = c.i64(0);
  const Tensor& x = c.t(1);
  std::vector<int64_t> axes = c.ints(2);
  const bool keep = c.b(3);
  for (int64_t& a : axes) a = a < 0 ? a + x.dim() : a;
  const bool intLike = !x.is_floating_point();
  if (axes.empty()) {
    if (code == kMean) return c.out(x.to(at::kFloat));
    if ((code == kSum || code == kProd) && intLike) return c.out(x.to(at::kInt));
    return c.out(x.clone());
  }
  switch (code) {
    case kSum:
      return c.out(at::sum(x, axes, keep, intLike ? c10::optional<at::ScalarType>(at::kInt) : c10::nullopt));
    case kProd:
      return c.out(perAxis(intLike ? x.to(at::kInt) : x, axes, keep,
                           [](const Tensor& t, int64_t a, bool k) { return at::prod(t, a, k, t.scalar_type()); }));
    case kMean: return c.out(at::mean(x.to(at::kFloat), axes, keep));
    case kMax: return c.out(x.scalar_type() == at::kBool ? at::amax(x.to(at::kInt), axes, keep).to(at::kBool) : at::amax(x, axes, keep));
    case kMin: return c.out(x.scalar_type() == at::kBool ? at::amin(x.to(at::kInt), axes, keep).to(at::kBool) : at::amin(x, axes, keep));
    case kAll:
      return c.out(perAxis(x.to(at::kBool), axes, keep, [](const Tensor& t, int64_t a, bool k) { return at::all(t, a, k); }));
    case kAny:
      return c.out(perAxis(x.to(at::kBool), axes, keep, [](const Tensor& t, int64_t a, bool k) { return at::any(t, a, k); }));
    default: throw ArgError("unknown reduction code");
  }
}

// argReduce(x, axis, isMax): index of the first extreme value along axis, int32.
KILN_OP(argReduce) {
  const Tensor& x = c.t(0);
  const Tensor v = x.scalar_type() == at::kBool ? x.to(at::kInt) : x;
  return c.out(c.b(2) ? at::argmax(v, c.i64(1)) : at::argmin(v, c.i64(1)));
}

// cumulative(x, axis, exclusive, reverse, isProd)
KILN_OP(cumulative) {
  Tensor x = c.t(0);
  const int64_t axis = c.i64(1) < 0 ? c.i64(1) + x.dim() : c.i64(1);
  const bool exclusive = c.b(2), reverse = c.b(3), isProd = c.b(4);
  if (!x.is_floating_point()) x = x.to(at::kInt);
  if (reverse) x = at::flip(x, {axis});
  Tensor y = isProd ? at::cumprod(x, axis, x.scalar_type()) : at::cumsum(x, axis, x.scalar_type());
  if (exclusive && x.size(axis) > 0) {
    // Shift by one: the identity first, then all but the last running value.
    std::vector<int64_t> first(x.sizes().begin(), x.sizes().end());
    first[axis] = 1;
    Tensor identity = isProd ? at::ones(first, x.options()) : at::zeros(first, x.options());
    y = at::cat({identity, y.narrow(axis, 0, x.size(axis) - 1)}, axis);
  }
  if (reverse) y = at::flip(y, {axis});
  return c.out(y);
}

// softmax(x, dim)
KILN_OP(softmax) {
  const Tensor& x = c.t(0);
  return c.out(at::softmax(x, c.i64(1)));
}

// topk(x, k): [values, indices] along the last axis, largest first (always sorted, as tfjs's cpu).
KILN_OP(topk) {
  const Tensor& x = c.t(0);
  const int64_t k = c.i64(1);
  require(k >= 0 && (x.dim() == 0 ? k <= 1 : k <= x.size(-1)), "TopK: k is larger than the last dimension");
  Tensor v = x.scalar_type() == at::kBool ? x.to(at::kInt) : x;
  if (x.dim() == 0) v = v.reshape({1});
  auto [values, indices] = at::topk(v, k, -1, true, true);
  return c.outs({values.to(x.scalar_type()), indices});
}

// unsortedSegmentSum(x, segmentIds, numSegments): sums rows of x into numSegments buckets
// (ids outside [0, numSegments) are dropped, as in tfjs).
KILN_OP(unsortedSegmentSum) {
  const Tensor& x = c.t(0);
  Tensor ids = c.t(1).to(at::kLong).reshape({-1});
  const int64_t n = c.i64(2);
  const int64_t rows = ids.numel();
  Tensor flat = x.reshape({rows, -1});
  const Tensor valid = (ids >= 0).logical_and(ids < n);
  std::vector<int64_t> shape = {n};
  for (int64_t d = c.t(1).dim(); d < x.dim(); d++) shape.push_back(x.size(d));
  Tensor out = at::zeros({n, flat.size(1)}, flat.options());
  out.index_add_(0, ids.masked_select(valid), flat.index({valid}));
  return c.out(out.reshape(shape));
}
