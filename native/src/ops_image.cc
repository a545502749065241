// Image resizing. The source rows and columns of each output pixel (and bilinear weights) are
// computed on the host with tfjs's formulas for align-corners and half-pixel centers, so every
// mode matches tfjs; the gradients are the exact adjoints of these maps.
#include "kiln.h"

using namespace kiln;
using at::Tensor;

namespace {

// Linear interpolation along `dim` between the rows at lo and hi with weight frac (frac is [n]).
Tensor lerpAlong(const Tensor& x, int64_t dim, const Tensor& lo, const Tensor& hi, const Tensor& frac) {
  std::vector<int64_t> shape(x.dim(), 1);
  shape[dim] = frac.size(0);
  const Tensor a = x.index_select(dim, lo);
  const Tensor b = x.index_select(dim, hi);
  return at::lerp(a, b, frac.reshape(shape));
}

// Adjoint of lerpAlong: scatters dy back onto `size` rows.
Tensor lerpAlongAdjoint(const Tensor& dy, int64_t dim, int64_t size, const Tensor& lo, const Tensor& hi, const Tensor& frac) {
  std::vector<int64_t> shape(dy.dim(), 1);
  shape[dim] = frac.size(0);
  const Tensor w = frac.reshape(shape);
  std::vector<int64_t> outShape(dy.sizes().begin(), dy.sizes().end());
  outShape[dim] = size;
  Tensor dx = at::zeros(outShape, dy.options());
  dx.index_add_(dim, lo, dy * (1 - w));
  dx.index_add_(dim, hi, dy * w);
  return dx;
}

Tensor longs(const Tensor& t) { return t.to(at::kLong); }

}  // namespace

// resizeBilinear(images, rowLo, rowHi, rowFrac, colLo, colHi, colFrac)
KILN_OP(resizeBilinear) {
  const Tensor x = c.t(0).to(at::kFloat);
  Tensor y = lerpAlong(x, 1, longs(c.array(1)), longs(c.array(2)), c.array(3));
  return c.out(lerpAlong(y, 2, longs(c.array(4)), longs(c.array(5)), c.array(6)).contiguous());
}

// resizeBilinearGrad(dy, inHeight, inWidth, rowLo, rowHi, rowFrac, colLo, colHi, colFrac)
KILN_OP(resizeBilinearGrad) {
  const Tensor& dy = c.t(0);
  Tensor d = lerpAlongAdjoint(dy, 2, c.i64(2), longs(c.array(6)), longs(c.array(7)), c.array(8));
  return c.out(lerpAlongAdjoint(d, 1, c.i64(1), longs(c.array(3)), longs(c.array(4)), c.array(5)));
}

// resizeNearest(images, rows, cols)
KILN_OP(resizeNearest) {
  const Tensor& x = c.t(0);
  return c.out(x.index_select(1, longs(c.array(1))).index_select(2, longs(c.array(2))));
}

// resizeNearestGrad(dy, inHeight, inWidth, rows, cols)
KILN_OP(resizeNearestGrad) {
  const Tensor& dy = c.t(0);
  std::vector<int64_t> shape(dy.sizes().begin(), dy.sizes().end());
  shape[2] = c.i64(2);
  Tensor d = at::zeros(shape, dy.options());
  d.index_add_(2, longs(c.array(4)), dy);
  shape[1] = c.i64(1);
  Tensor dx = at::zeros(shape, dy.options());
  dx.index_add_(1, longs(c.array(3)), d);
  return c.out(dx);
}

// flipLeftRight(images)
KILN_OP(flipLeftRight) {
  return c.out(at::flip(c.t(0), {2}));
}
