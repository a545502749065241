// Kiln's native tfjs backend: shared declarations of the addon.
//
// Tensors live in libtorch memory, in a table of slots owned by one Node environment (the main
// thread or a worker). JavaScript holds slot numbers; every op reads its inputs by slot, computes
// with ATen and stores its result in a new slot. A single result's dtype and shape go back through
// a shared Int32Array ("meta") so no JavaScript object is built per op.
#pragma once

#define NAPI_VERSION 8
#include <node_api.h>

#include <ATen/ATen.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// Hot loops are compiled for AVX2 and for the x86-64 baseline; the loader picks one for the CPU.
#define KILN_SIMD __attribute__((target_clones("avx2", "default")))

namespace kiln {

// tfjs dtypes the backend stores; every slot holds one of these.
enum DType : int32_t { kF32 = 0, kI32 = 1, kBool = 2 };

constexpr int kMaxRank = 8;
// meta layout for a single result: [dtype, rank, dim0 .. dim7].
constexpr int kMetaLength = 2 + kMaxRank;

struct State {
  std::vector<at::Tensor> slots;
  std::vector<int32_t> free;
  int32_t* meta = nullptr;
  napi_ref metaRef = nullptr;
  int64_t live = 0;
};

// A failure the caller made (bad argument); surfaces as a JavaScript Error with this message.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Call {
 public:
  Call(napi_env env, napi_callback_info info);

  napi_env env;
  State* state;

  size_t argc() const { return argc_; }
  napi_value arg(size_t i) const;
  bool isNull(size_t i) const;

  // The tensor in the slot passed as argument i.
  const at::Tensor& t(size_t i) const;
  // The tensor in slot argument i, or an undefined tensor when the argument is null/undefined.
  at::Tensor optT(size_t i) const;
  int64_t i64(size_t i) const;
  double f64(size_t i) const;
  bool b(size_t i) const;
  std::string str(size_t i) const;
  // An array of integers (JS array or Int32Array).
  std::vector<int64_t> ints(size_t i) const;
  std::vector<double> doubles(size_t i) const;
  // A copy of a typed array (Int32Array or Float32Array) as a 1-D tensor.
  at::Tensor array(size_t i) const;
  // An array of slot numbers, as tensors.
  std::vector<at::Tensor> tensors(size_t i) const;

  // Stores `t` in a new slot, writes its dtype and shape to meta, returns the slot number.
  napi_value out(at::Tensor t);
  // Stores several results; returns a JS array of slot numbers (shapes via `describe`).
  napi_value outs(const std::vector<at::Tensor>& ts);
  napi_value undefined() const;

 private:
  static constexpr size_t kMaxArgs = 16;
  napi_value argv_[kMaxArgs];
  size_t argc_ = kMaxArgs;
};

State* stateOf(napi_env env);
int32_t store(State* s, at::Tensor t);
void writeMeta(State* s, const at::Tensor& t);
// tfjs dtype code of a stored tensor; converts int64/double results to int32/float32.
at::Tensor normalize(at::Tensor t);
DType dtypeOf(const at::Tensor& t);
at::ScalarType scalarType(int64_t code);

// tfjs fused activations by code: 0 linear, 1 relu, 2 relu6, 3 elu, 4 prelu, 5 leakyrelu, 6 sigmoid.
at::Tensor activate(const at::Tensor& y, int64_t code, const at::Tensor& preluWeights, double leakyAlpha);

// The caching CPU allocator (allocator.cc).
void installCachingAllocator();
size_t emptyCache();
std::pair<size_t, size_t> cacheStats();  // [bytes in use, idle bytes kept] of cached blocks

void throwJs(napi_env env, const char* message);
napi_value makeInt(napi_env env, int64_t v);

using OpBody = napi_value (*)(Call&);
using Callback = napi_value (*)(napi_env, napi_callback_info);

std::vector<std::pair<const char*, Callback>>& opTable();
struct OpRegistrar {
  OpRegistrar(const char* name, Callback cb) { opTable().emplace_back(name, cb); }
};

// Runs an op body with autograd off; turns C++ exceptions into JavaScript errors.
template <OpBody F>
napi_value trampoline(napi_env env, napi_callback_info info) {
  try {
    c10::InferenceMode guard;
    Call c(env, info);
    return F(c);
  } catch (const c10::Error& e) {
    throwJs(env, e.what_without_backtrace());
  } catch (const std::exception& e) {
    throwJs(env, e.what());
  }
  return nullptr;
}

// Declares an op callable from JavaScript as `addon.<name>(...)`.
#define KILN_OP(name)                                                                      \
  static napi_value kiln_op_##name(::kiln::Call& c);                                       \
  static ::kiln::OpRegistrar kiln_reg_##name(#name, &::kiln::trampoline<kiln_op_##name>); \
  static napi_value kiln_op_##name(::kiln::Call& c)

// Throws an ArgError with `msg` unless `cond` holds.
inline void require(bool cond, const std::string& msg) {
  if (!cond) throw ArgError(msg);
}

}  // namespace kiln
