// Matrix products: BatchMatMul, _FusedMatMul (bias + activation), Einsum.
#include "kiln.h"

using namespace kiln;
using at::Tensor;

namespace kiln {

Tensor activate(const Tensor& y, int64_t code, const Tensor& preluWeights, double leakyAlpha) {
  switch (code) {
    case 0: return y;
    case 1: return at::relu(y);
    case 2: return at::clamp(y, 0, 6);
    case 3: return at::elu(y);
    case 4: return at::where(y < 0, y * preluWeights, y);
    case 5: return at::where(y < 0, y * leakyAlpha, y);
    case 6: return at::sigmoid(y);
    default: throw ArgError("unknown fused activation code " + std::to_string(code));
  }
}

}  // namespace kiln

namespace {

// a @ b with tfjs's transpose flags; batch dimensions broadcast. Transposes are views (BLAS reads them).
Tensor product(const Tensor& a, const Tensor& b, bool transA, bool transB) {
  const Tensor x = transA ? a.transpose(-1, -2) : a;
  const Tensor y = transB ? b.transpose(-1, -2) : b;
  if (x.dim() == 2 && y.dim() == 2) return at::mm(x, y);
  return at::matmul(x, y);
}

}  // namespace

// matMul(a, b, transposeA, transposeB)
KILN_OP(matMul) {
  return c.out(product(c.t(0), c.t(1), c.b(2), c.b(3)));
}

// fusedMatMul(a, b, transposeA, transposeB, bias|null, activation, preluWeights|null, leakyAlpha)
KILN_OP(fusedMatMul) {
  const Tensor& a = c.t(0);
  const Tensor& b = c.t(1);
  const bool transA = c.b(2), transB = c.b(3);
  const Tensor bias = c.optT(4);
  Tensor y;
  if (bias.defined() && a.dim() == 2 && b.dim() == 2) {
    y = at::addmm(bias, transA ? a.t() : a, transB ? b.t() : b);  // one BLAS call with the bias as C
  } else {
    y = product(a, b, transA, transB);
    if (bias.defined()) y = y + bias;
  }
  return c.out(activate(y, c.i64(5), c.optT(6), c.f64(7)));
}

// einsum(equation, [slots])
KILN_OP(einsum) {
  return c.out(at::einsum(c.str(0), c.tensors(1)));
}
