// Shape and indexing kernels. Reshape, transpose, slices and splits return views of their input's
// memory (tensors are never written in place, so sharing is safe); the rest copy.
#include "kiln.h"

#include <numeric>

using namespace kiln;
using at::Tensor;

namespace {

int64_t axisOf(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

// [before0, after0, before1, after1, ...] (tfjs order) -> torch's pad spec, last dim first.
std::vector<int64_t> padSpec(const std::vector<int64_t>& pads) {
  std::vector<int64_t> spec;
  for (int64_t d = static_cast<int64_t>(pads.size()) / 2 - 1; d >= 0; d--) {
    spec.push_back(pads[2 * d]);
    spec.push_back(pads[2 * d + 1]);
  }
  return spec;
}

Tensor indexRange(int64_t begin, int64_t step, int64_t count) {
  return at::arange(count, at::TensorOptions().dtype(at::kLong)) * step + begin;
}

int64_t product(const std::vector<int64_t>& v, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t k = from; k < to; k++) p *= v[k];
  return p;
}

}  // namespace

// reshape(x, shape)
KILN_OP(reshape) {
  return c.out(c.t(0).reshape(c.ints(1)));
}

// transpose(x, perm)
KILN_OP(transpose) {
  return c.out(c.t(0).permute(c.ints(1)));
}

// expandDims(x, axis)
KILN_OP(expandDims) {
  const Tensor& x = c.t(0);
  const int64_t axis = c.i64(1);
  return c.out(x.unsqueeze(axis < 0 ? axis + x.dim() + 1 : axis));
}

// slice(x, begin, size): size already resolved (no -1).
KILN_OP(slice) {
  Tensor x = c.t(0);
  const std::vector<int64_t> begin = c.ints(1), size = c.ints(2);
  require(begin.size() == static_cast<size_t>(x.dim()) && size.size() == begin.size(), "slice: begin/size rank mismatch");
  for (int64_t d = 0; d < x.dim(); d++) x = x.narrow(d, begin[d], size[d]);
  return c.out(x);
}

// stridedSlice(x, begin, strides, counts, finalShape): element k of dim d is
// begin[d] + k * strides[d] for k < counts[d]; the result is reshaped to finalShape.
KILN_OP(stridedSlice) {
  Tensor x = c.t(0);
  const std::vector<int64_t> begin = c.ints(1), strides = c.ints(2), counts = c.ints(3), finalShape = c.ints(4);
  require(begin.size() == static_cast<size_t>(x.dim()) && strides.size() == begin.size() && counts.size() == begin.size(),
          "stridedSlice: spec rank mismatch");
  for (int64_t d = 0; d < x.dim(); d++) {
    const int64_t n = counts[d], b = begin[d], s = strides[d];
    if (n == 0) {
      x = x.narrow(d, 0, 0);
    } else if (s > 0) {
      x = x.slice(d, b, b + (n - 1) * s + 1, s);
    } else {
      x = x.index_select(d, indexRange(b, s, n));
    }
  }
  return c.out(x.reshape(finalShape));
}

// concat([slots], axis)
KILN_OP(concat) {
  return c.out(at::cat(c.tensors(0), c.i64(1)));
}

// stack([slots], axis)
KILN_OP(stack) {
  return c.out(at::stack(c.tensors(0), c.i64(1)));
}

// unstack(x, axis) -> [slots]
KILN_OP(unstack) {
  const Tensor& x = c.t(0);
  std::vector<Tensor> parts = at::unbind(x, axisOf(c.i64(1), x.dim()));
  return c.outs(parts);
}

// split(x, sizes, axis) -> [slots]
KILN_OP(split) {
  const Tensor& x = c.t(0);
  return c.outs(at::split_with_sizes(x, c.ints(1), axisOf(c.i64(2), x.dim())));
}

// pad(x, pads, value)
KILN_OP(pad) {
  return c.out(at::constant_pad_nd(c.t(0), padSpec(c.ints(1)), c.f64(2)));
}

// mirrorPad(x, pads, symmetric): reflect mirrors around the edge element, symmetric includes it.
KILN_OP(mirrorPad) {
  Tensor x = c.t(0);
  const std::vector<int64_t> pads = c.ints(1);
  const bool symmetric = c.b(2);
  require(pads.size() == 2 * static_cast<size_t>(x.dim()), "mirrorPad: paddings rank mismatch");
  for (int64_t d = 0; d < x.dim(); d++) {
    const int64_t before = pads[2 * d], after = pads[2 * d + 1], n = x.size(d);
    if (before == 0 && after == 0) continue;
    const int64_t shift = symmetric ? 0 : 1;
    require(before <= n - shift && after <= n - shift, "mirrorPad: padding larger than the dimension allows");
    std::vector<int64_t> idx;
    for (int64_t k = before; k > 0; k--) idx.push_back(k - 1 + shift);
    for (int64_t k = 0; k < n; k++) idx.push_back(k);
    for (int64_t k = 0; k < after; k++) idx.push_back(n - 1 - k - shift);
    x = x.index_select(d, at::tensor(idx, at::TensorOptions().dtype(at::kLong)));
  }
  return c.out(x);
}

// tile(x, reps)
KILN_OP(tile) {
  return c.out(c.t(0).repeat(c.ints(1)));
}

// reverse(x, axes)
KILN_OP(reverse) {
  const Tensor& x = c.t(0);
  std::vector<int64_t> axes = c.ints(1);
  if (axes.empty()) return c.out(x.clone());
  return c.out(at::flip(x, axes));
}

// gather(x, indices, axis, batchDims): x viewed as [batch, outer, axis, inner] and indices as
// [batch, n]; out[b, o, k, i] = x[b, o, indices[b, k], i], reshaped to tfjs's output shape.
KILN_OP(gather) {
  const Tensor& x = c.t(0);
  const Tensor& indices = c.t(1);
  const int64_t rank = x.dim();
  const int64_t axis = axisOf(c.i64(2), rank);
  const int64_t batchDims = axisOf(c.i64(3), indices.dim());
  const std::vector<int64_t> xs(x.sizes().begin(), x.sizes().end());
  const std::vector<int64_t> is(indices.sizes().begin(), indices.sizes().end());
  const int64_t dim = xs[axis];
  Tensor idx = indices.to(at::kLong);
  require(idx.numel() == 0 || (idx.min().item<int64_t>() >= 0 && idx.max().item<int64_t>() < dim),
          "GatherV2: an index is outside [0, " + std::to_string(dim - 1) + "]");
  std::vector<int64_t> outShape(xs.begin(), xs.begin() + axis);
  outShape.insert(outShape.end(), is.begin() + batchDims, is.end());
  outShape.insert(outShape.end(), xs.begin() + axis + 1, xs.end());
  if (batchDims == 0) return c.out(x.index_select(axis, idx.reshape({-1})).reshape(outShape));
  const int64_t batch = product(xs, 0, batchDims);
  const int64_t outer = product(xs, batchDims, axis);
  const int64_t inner = product(xs, axis + 1, xs.size());
  const int64_t n = idx.numel() / std::max<int64_t>(batch, 1);
  Tensor x4 = x.reshape({batch, outer, dim, inner});
  Tensor i4 = idx.reshape({batch, 1, n, 1}).expand({batch, outer, n, inner});
  return c.out(at::gather(x4, 2, i4).reshape(outShape));
}

// gatherNd(params, indices): the last axis of indices addresses the leading axes of params.
KILN_OP(gatherNd) {
  const Tensor& params = c.t(0);
  const Tensor& indices = c.t(1);
  const int64_t k = indices.size(-1);
  require(k <= params.dim(), "GatherNd: index depth exceeds the params rank");
  const std::vector<int64_t> ps(params.sizes().begin(), params.sizes().end());
  const int64_t slots = product(ps, 0, k);
  Tensor idx = indices.to(at::kLong).reshape({-1, k});
  Tensor flat = at::zeros({idx.size(0)}, idx.options());
  int64_t stride = slots;
  for (int64_t d = 0; d < k; d++) {
    stride /= ps[d];
    const Tensor col = idx.select(1, d);
    require(col.numel() == 0 || (col.min().item<int64_t>() >= 0 && col.max().item<int64_t>() < ps[d]),
            "GatherNd: an index is out of bounds");
    flat += col * stride;
  }
  std::vector<int64_t> outShape(indices.sizes().begin(), indices.sizes().end() - 1);
  outShape.insert(outShape.end(), ps.begin() + k, ps.end());
  return c.out(params.reshape({slots, -1}).index_select(0, flat).reshape(outShape));
}

namespace {

// Flat slot numbers of scatter indices [n, k] into `shape`, checked against its bounds.
Tensor scatterSlots(const Tensor& indices, const std::vector<int64_t>& shape, int64_t* slotsOut) {
  const int64_t k = indices.size(-1);
  require(k <= static_cast<int64_t>(shape.size()), "scatter: index depth exceeds the output rank");
  const int64_t slots = product(shape, 0, k);
  Tensor idx = indices.to(at::kLong).reshape({-1, k});
  Tensor flat = at::zeros({idx.size(0)}, idx.options());
  int64_t stride = slots;
  for (int64_t d = 0; d < k; d++) {
    stride /= shape[d];
    const Tensor col = idx.select(1, d);
    require(col.numel() == 0 || (col.min().item<int64_t>() >= 0 && col.max().item<int64_t>() < shape[d]),
            "scatter: an index is out of bounds");
    flat += col * stride;
  }
  *slotsOut = slots;
  return flat;
}

}  // namespace

// scatterNd(indices, updates, shape): sums updates into zeros of `shape` (duplicates add up).
KILN_OP(scatterNd) {
  const Tensor& indices = c.t(0);
  const Tensor& updates = c.t(1);
  const std::vector<int64_t> shape = c.ints(2);
  int64_t slots = 0;
  const Tensor flat = scatterSlots(indices, shape, &slots);
  Tensor out = at::zeros({slots, product(shape, indices.size(-1), shape.size())}, updates.options());
  out.index_add_(0, flat, updates.reshape({flat.size(0), -1}));
  return c.out(out.reshape(shape));
}

// tensorScatterUpdate(tensor, indices, updates): a copy of tensor with the addressed slices replaced.
KILN_OP(tensorScatterUpdate) {
  const Tensor& tensor = c.t(0);
  const Tensor& indices = c.t(1);
  const Tensor& updates = c.t(2);
  const std::vector<int64_t> shape(tensor.sizes().begin(), tensor.sizes().end());
  int64_t slots = 0;
  const Tensor flat = scatterSlots(indices, shape, &slots);
  Tensor out = tensor.reshape({slots, -1}).clone();
  out.index_copy_(0, flat, updates.reshape({flat.size(0), -1}).to(out.scalar_type()));
  return c.out(out.reshape(shape));
}

// oneHot(indices, depth, onValue, offValue, dtypeCode): indices outside [0, depth) give all-off rows.
KILN_OP(oneHot) {
  const Tensor idx = c.t(0).to(at::kLong).unsqueeze(-1);
  const int64_t depth = c.i64(1);
  const at::ScalarType st = scalarType(c.i64(4));
  const Tensor hit = idx.eq(at::arange(depth, idx.options()));
  const at::TensorOptions opts = at::TensorOptions().dtype(st);
  return c.out(at::where(hit, at::scalar_tensor(c.f64(2), opts), at::scalar_tensor(c.f64(3), opts)));
}

// diag(x): a tensor of shape x.shape ++ x.shape with x on its diagonal.
KILN_OP(diag) {
  const Tensor& x = c.t(0);
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.insert(shape.end(), x.sizes().begin(), x.sizes().end());
  return c.out(at::diag(x.reshape({-1})).reshape(shape));
}

// depthToSpace(x, blockSize, nchw)
KILN_OP(depthToSpace) {
  const Tensor& x = c.t(0);
  const int64_t b = c.i64(1);
  if (c.b(2)) {
    const int64_t n = x.size(0), ch = x.size(1), h = x.size(2), w = x.size(3);
    return c.out(x.reshape({n, b, b, ch / (b * b), h, w}).permute({0, 3, 4, 1, 5, 2}).reshape({n, ch / (b * b), h * b, w * b}));
  }
  const int64_t n = x.size(0), h = x.size(1), w = x.size(2), ch = x.size(3);
  return c.out(x.reshape({n, h, w, b, b, ch / (b * b)}).permute({0, 1, 3, 2, 4, 5}).reshape({n, h * b, w * b, ch / (b * b)}));
}

// spaceToBatchND(x, blockShape, pads)
KILN_OP(spaceToBatchND) {
  const Tensor& x = c.t(0);
  const std::vector<int64_t> block = c.ints(1), pads = c.ints(2);
  const int64_t m = block.size();
  std::vector<int64_t> fullPads(2 * x.dim(), 0);
  for (int64_t d = 0; d < m; d++) {
    fullPads[2 * (d + 1)] = pads[2 * d];
    fullPads[2 * (d + 1) + 1] = pads[2 * d + 1];
  }
  Tensor p = at::constant_pad_nd(x, padSpec(fullPads), 0);
  const int64_t batch = p.size(0);
  std::vector<int64_t> shape = {batch};
  for (int64_t d = 0; d < m; d++) {
    require(p.size(1 + d) % block[d] == 0, "SpaceToBatchND: padded size not divisible by the block");
    shape.push_back(p.size(1 + d) / block[d]);
    shape.push_back(block[d]);
  }
  for (int64_t d = 1 + m; d < p.dim(); d++) shape.push_back(p.size(d));
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < m; d++) perm.push_back(2 + 2 * d);
  perm.push_back(0);
  for (int64_t d = 0; d < m; d++) perm.push_back(1 + 2 * d);
  for (int64_t d = 1 + 2 * m; d < static_cast<int64_t>(shape.size()); d++) perm.push_back(d);
  std::vector<int64_t> out = {batch * product(block, 0, m)};
  for (int64_t d = 0; d < m; d++) out.push_back(p.size(1 + d) / block[d]);
  for (int64_t d = 1 + m; d < p.dim(); d++) out.push_back(p.size(d));
  return c.out(p.reshape(shape).permute(perm).reshape(out));
}

// batchToSpaceND(x, blockShape, crops)
KILN_OP(batchToSpaceND) {
  const Tensor& x = c.t(0);
  const std::vector<int64_t> block = c.ints(1), crops = c.ints(2);
  const int64_t m = block.size();
  const int64_t prod = product(block, 0, m);
  const int64_t batch = x.size(0) / prod;
  std::vector<int64_t> shape(block.begin(), block.end());
  shape.push_back(batch);
  for (int64_t d = 1; d < x.dim(); d++) shape.push_back(x.size(d));
  std::vector<int64_t> perm = {m};
  for (int64_t d = 0; d < m; d++) {
    perm.push_back(m + 1 + d);
    perm.push_back(d);
  }
  for (int64_t d = 2 * m + 1; d < static_cast<int64_t>(shape.size()); d++) perm.push_back(d);
  std::vector<int64_t> out = {batch};
  for (int64_t d = 0; d < m; d++) out.push_back(x.size(1 + d) * block[d]);
  for (int64_t d = 1 + m; d < x.dim(); d++) out.push_back(x.size(d));
  Tensor y = x.reshape(shape).permute(perm).reshape(out);
  for (int64_t d = 0; d < m; d++) y = y.narrow(1 + d, crops[2 * d], y.size(1 + d) - crops[2 * d] - crops[2 * d + 1]);
  return c.out(y);
}

// searchSorted(sortedSequence [b, n], values [b, m], right) -> int32 [b, m]
KILN_OP(searchSorted) {
  return c.out(at::searchsorted(c.t(0).contiguous(), c.t(1).contiguous(), true, c.b(2)));
}
