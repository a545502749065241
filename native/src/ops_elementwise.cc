// Elementwise kernels: unary math, binary math with broadcasting, comparisons, select, casts.
//
// Dtype rules follow tfjs's cpu backend: a unary op keeps its input's dtype (an int32 input is
// computed in float32 and truncated back), except Exp (always float32) and the predicates (bool);
// a binary op yields the wider of its inputs' dtypes (bool < int32 < float32), comparisons bool,
// FloorDiv int32.
#include "kiln.h"

#include <functional>

using namespace kiln;
using at::Tensor;

namespace {

using UnaryFn = std::function<Tensor(const Tensor&)>;

struct Unary {
  const char* name;
  UnaryFn fn;
  // What an integer or bool input does: compute as is, in float32 and cast back, or yield float32.
  enum Ints { kNative, kViaFloat, kFloatOut } ints;
  bool boolOut = false;
};

const std::vector<Unary>& unaryTable() {
  static const std::vector<Unary> table = {
      {"Abs", [](const Tensor& x) { return at::abs(x); }, Unary::kNative},
      {"Acos", [](const Tensor& x) { return at::acos(x); }, Unary::kViaFloat},
      {"Acosh", [](const Tensor& x) { return at::acosh(x); }, Unary::kViaFloat},
      {"Asin", [](const Tensor& x) { return at::asin(x); }, Unary::kViaFloat},
      {"Asinh", [](const Tensor& x) { return at::asinh(x); }, Unary::kViaFloat},
      {"Atan", [](const Tensor& x) { return at::atan(x); }, Unary::kViaFloat},
      {"Atanh", [](const Tensor& x) { return at::atanh(x); }, Unary::kViaFloat},
      {"Ceil", [](const Tensor& x) { return at::ceil(x); }, Unary::kNative},
      {"Cos", [](const Tensor& x) { return at::cos(x); }, Unary::kViaFloat},
      {"Cosh", [](const Tensor& x) { return at::cosh(x); }, Unary::kViaFloat},
      {"Elu", [](const Tensor& x) { return at::elu(x); }, Unary::kViaFloat},
      {"Erf", [](const Tensor& x) { return at::erf(x); }, Unary::kViaFloat},
      {"Exp", [](const Tensor& x) { return at::exp(x); }, Unary::kFloatOut},
      {"Expm1", [](const Tensor& x) { return at::expm1(x); }, Unary::kViaFloat},
      {"Floor", [](const Tensor& x) { return at::floor(x); }, Unary::kNative},
      {"IsFinite", [](const Tensor& x) { return at::isfinite(x); }, Unary::kNative, true},
      {"IsInf", [](const Tensor& x) { return at::isinf(x); }, Unary::kNative, true},
      {"IsNan", [](const Tensor& x) { return at::isnan(x); }, Unary::kNative, true},
      {"Log", [](const Tensor& x) { return at::log(x); }, Unary::kViaFloat},
      {"Log1p", [](const Tensor& x) { return at::log1p(x); }, Unary::kViaFloat},
      {"LogicalNot", [](const Tensor& x) { return at::logical_not(x); }, Unary::kNative, true},
      {"Neg", [](const Tensor& x) { return at::neg(x); }, Unary::kNative},
      {"Reciprocal", [](const Tensor& x) { return at::reciprocal(x); }, Unary::kViaFloat},
      {"Relu", [](const Tensor& x) { return at::relu(x); }, Unary::kNative},
      {"Relu6", [](const Tensor& x) { return at::clamp(x, 0, 6); }, Unary::kNative},
      {"Round", [](const Tensor& x) { return at::round(x); }, Unary::kNative},
      {"Rsqrt", [](const Tensor& x) { return at::rsqrt(x); }, Unary::kViaFloat},
      {"Selu", [](const Tensor& x) { return at::selu(x); }, Unary::kViaFloat},
      {"Sigmoid", [](const Tensor& x) { return at::sigmoid(x); }, Unary::kViaFloat},
      // tfjs: NaN has sign 0.
      {"Sign", [](const Tensor& x) { return x.is_floating_point() ? at::nan_to_num(at::sign(x), 0) : at::sign(x); }, Unary::kNative},
      {"Sin", [](const Tensor& x) { return at::sin(x); }, Unary::kViaFloat},
      {"Sinh", [](const Tensor& x) { return at::sinh(x); }, Unary::kViaFloat},
      {"Softplus", [](const Tensor& x) { return at::softplus(x); }, Unary::kViaFloat},
      {"Sqrt", [](const Tensor& x) { return at::sqrt(x); }, Unary::kViaFloat},
      {"Square", [](const Tensor& x) { return at::square(x); }, Unary::kNative},
      {"Tan", [](const Tensor& x) { return at::tan(x); }, Unary::kViaFloat},
      {"Tanh", [](const Tensor& x) { return at::tanh(x); }, Unary::kViaFloat},
      {"ZerosLike", [](const Tensor& x) { return at::zeros_like(x, at::MemoryFormat::Contiguous); }, Unary::kNative},
      {"OnesLike", [](const Tensor& x) { return at::ones_like(x, at::MemoryFormat::Contiguous); }, Unary::kNative},
  };
  return table;
}

enum class Out { kWider, kBool, kInt };

struct Binary {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> fn;
  Out out;
};

// Integer operands of ops that tfjs computes in double precision (JavaScript numbers); with `always`,
// float32 operands too (FloorDiv must not round a quotient just under an integer up to it).
Tensor wide(const Tensor& t, bool always = false) {
  return (always || !t.is_floating_point()) ? t.to(at::kDouble) : t;
}

// tfjs's Mod, in its own words: r = a % b, and (r + b) % b when a and b differ in sign.
Tensor floorMod(const Tensor& a, const Tensor& b) {
  const Tensor r = at::fmod(a, b);
  const Tensor sameSign = at::logical_or(at::logical_and(a < 0, b < 0), at::logical_and(a >= 0, b >= 0));
  return at::where(sameSign, r, at::fmod(r + b, b));
}

const std::vector<Binary>& binaryTable() {
  static const std::vector<Binary> table = {
      {"Add", [](const Tensor& a, const Tensor& b) { return at::add(a, b); }, Out::kWider},
      {"Sub", [](const Tensor& a, const Tensor& b) { return at::sub(a, b); }, Out::kWider},
      {"Multiply", [](const Tensor& a, const Tensor& b) { return at::mul(a, b); }, Out::kWider},
      {"RealDiv", [](const Tensor& a, const Tensor& b) { return at::div(a, b); }, Out::kWider},
      {"FloorDiv", [](const Tensor& a, const Tensor& b) { return at::floor(at::div(wide(a, true), wide(b, true))); }, Out::kInt},
      {"Maximum", [](const Tensor& a, const Tensor& b) { return at::maximum(a, b); }, Out::kWider},
      {"Minimum", [](const Tensor& a, const Tensor& b) { return at::minimum(a, b); }, Out::kWider},
      {"Mod", [](const Tensor& a, const Tensor& b) { return floorMod(wide(a, true), wide(b, true)); }, Out::kWider},
      {"Pow", [](const Tensor& a, const Tensor& b) { return at::pow(wide(a), wide(b)); }, Out::kWider},
      {"SquaredDifference", [](const Tensor& a, const Tensor& b) { return at::square(at::sub(a, b)); }, Out::kWider},
      {"Atan2", [](const Tensor& a, const Tensor& b) { return at::atan2(wide(a), wide(b)); }, Out::kWider},
      {"Equal", [](const Tensor& a, const Tensor& b) { return at::eq(a, b); }, Out::kBool},
      {"NotEqual", [](const Tensor& a, const Tensor& b) { return at::ne(a, b); }, Out::kBool},
      {"Greater", [](const Tensor& a, const Tensor& b) { return at::gt(a, b); }, Out::kBool},
      {"GreaterEqual", [](const Tensor& a, const Tensor& b) { return at::ge(a, b); }, Out::kBool},
      {"Less", [](const Tensor& a, const Tensor& b) { return at::lt(a, b); }, Out::kBool},
      {"LessEqual", [](const Tensor& a, const Tensor& b) { return at::le(a, b); }, Out::kBool},
      {"LogicalAnd", [](const Tensor& a, const Tensor& b) { return at::logical_and(a, b); }, Out::kBool},
      {"LogicalOr", [](const Tensor& a, const Tensor& b) { return at::logical_or(a, b); }, Out::kBool},
      {"BitwiseAnd", [](const Tensor& a, const Tensor& b) { return at::bitwise_and(a, b); }, Out::kWider},
      {"Prelu", [](const Tensor& x, const Tensor& alpha) { return at::where(x < 0, x * alpha, x); }, Out::kWider},
  };
  return table;
}

at::ScalarType wider(at::ScalarType a, at::ScalarType b) {
  if (a == at::kFloat || b == at::kFloat) return at::kFloat;
  if (a == at::kInt || b == at::kInt) return at::kInt;
  return at::kBool;
}

// A float result stored as int32 the way a JavaScript Int32Array stores a number: truncated,
// NaN and infinities 0, wrapped modulo 2^32.
Tensor jsInt32(const Tensor& y) {
  if (!y.is_floating_point()) return y.to(at::kInt);
  const double two32 = 4294967296.0;
  Tensor v = at::nan_to_num(at::trunc(y.to(at::kDouble)), 0, 0, 0);
  Tensor r = at::fmod(v, two32);
  r = r + (r < 0).to(at::kDouble) * two32;
  r = r - (r >= 2147483648.0).to(at::kDouble) * two32;
  return r.to(at::kInt);
}

napi_value names(Call& c, const std::vector<const char*>& list) {
  napi_value arr;
  napi_create_array_with_length(c.env, list.size(), &arr);
  for (size_t k = 0; k < list.size(); k++) {
    napi_value s;
    napi_create_string_utf8(c.env, list[k], NAPI_AUTO_LENGTH, &s);
    napi_set_element(c.env, arr, k, s);
  }
  return arr;
}

template <typename T>
const T& entry(const std::vector<T>& table, int64_t code) {
  require(code >= 0 && static_cast<size_t>(code) < table.size(), "unknown elementwise op code");
  return table[code];
}

// Broadcasting in tfjs keeps a 0-d operand's dtype out of the promotion; inputs arrive with one dtype.
Tensor castTo(const Tensor& t, at::ScalarType st) { return t.scalar_type() == st ? t : t.to(st); }

}  // namespace

KILN_OP(unaryNames) {
  std::vector<const char*> list;
  for (const auto& u : unaryTable()) list.push_back(u.name);
  return names(c, list);
}

KILN_OP(binaryNames) {
  std::vector<const char*> list;
  for (const auto& b : binaryTable()) list.push_back(b.name);
  return names(c, list);
}

// unary(code, x)
KILN_OP(unary) {
  const Unary& u = entry(unaryTable(), c.i64(0));
  const Tensor& x = c.t(1);
  if (x.is_floating_point() || u.boolOut || u.ints == Unary::kNative) return c.out(u.fn(x));
  if (u.ints == Unary::kFloatOut) return c.out(u.fn(x.to(at::kFloat)));
  // tfjs computes an integer input's result in double precision (a JavaScript number).
  Tensor y = u.fn(x.to(at::kDouble));
  return c.out(x.scalar_type() == at::kInt ? jsInt32(y) : y.ne(0));
}

// binary(code, a, b)
KILN_OP(binary) {
  const Binary& op = entry(binaryTable(), c.i64(0));
  const Tensor& a = c.t(1);
  const Tensor& b = c.t(2);
  const at::ScalarType st = wider(a.scalar_type(), b.scalar_type());
  Tensor y = op.fn(castTo(a, st), castTo(b, st));
  if (op.out == Out::kBool) return c.out(castTo(y, at::kBool));
  const at::ScalarType target = op.out == Out::kInt ? at::kInt : st;
  if (target == at::kInt) return c.out(jsInt32(y));
  return c.out(castTo(y, target));
}

// cast(x, dtypeCode): float -> int truncates toward zero, anything -> bool is `!= 0`.
KILN_OP(cast) {
  const Tensor& x = c.t(0);
  const at::ScalarType st = scalarType(c.i64(1));
  if (st == at::kBool) return c.out(x.ne(0));
  if (st == at::kInt) return c.out(jsInt32(x));
  return c.out(x.to(st));
}

// step(x, alpha): 1 where x > 0, alpha elsewhere, NaN kept.
KILN_OP(step) {
  const Tensor& x = c.t(0);
  const double alpha = c.f64(1);
  Tensor y = at::where(x > 0, at::ones_like(x), at::full_like(x, alpha));
  return c.out(x.is_floating_point() ? at::where(at::isnan(x), x, y) : y);
}

// clip(x, min, max): keeps x's dtype (an int32 x gets the bounds truncated, as tfjs stores them).
KILN_OP(clip) {
  const Tensor& x = c.t(0);
  if (x.is_floating_point()) return c.out(at::clamp(x, c.f64(1), c.f64(2)));
  return c.out(jsInt32(at::clamp(x.to(at::kDouble), c.f64(1), c.f64(2))));
}

// leakyRelu(x, alpha): x < 0 ? alpha * x : x.
KILN_OP(leakyRelu) {
  const Tensor& x = c.t(0);
  return c.out(at::where(x < 0, x * c.f64(1), x));
}

// eluGrad(dy, y): dy where y >= 0, dy * (y + 1) elsewhere.
KILN_OP(eluGrad) {
  const Tensor& dy = c.t(0);
  const Tensor& y = c.t(1);
  return c.out(at::where(y >= 0, dy, dy * (y + 1)));
}

// select(condition, t, e); a rank-1 condition picks whole rows of higher-rank t and e.
KILN_OP(select) {
  Tensor cond = c.t(0);
  const Tensor& t = c.t(1);
  const Tensor& e = c.t(2);
  if (cond.dim() == 1 && t.dim() > 1) {
    std::vector<int64_t> shape(t.dim(), 1);
    shape[0] = cond.size(0);
    cond = cond.reshape(shape);
  }
  const at::ScalarType st = wider(t.scalar_type(), e.scalar_type());
  return c.out(at::where(castTo(cond, at::kBool), castTo(t, st), castTo(e, st)));
}

// addN([slots]): elementwise sum of same-shaped tensors.
KILN_OP(addN) {
  std::vector<Tensor> ts = c.tensors(0);
  require(!ts.empty(), "AddN needs at least one tensor");
  Tensor sum = ts[0].clone(at::MemoryFormat::Contiguous);
  for (size_t k = 1; k < ts.size(); k++) sum.add_(ts[k]);
  return c.out(sum);
}

// fill(shape, value, dtypeCode)
KILN_OP(fill) {
  return c.out(at::full(c.ints(0), c.f64(1), at::TensorOptions().dtype(scalarType(c.i64(2)))));
}
