// Module setup, the slot table, data in and out, threads and version information.
#include "kiln.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <malloc.h>

#include <cstring>

namespace kiln {

std::vector<std::pair<const char*, Callback>>& opTable() {
  static std::vector<std::pair<const char*, Callback>> table;
  return table;
}

void throwJs(napi_env env, const char* message) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "KILN_NATIVE", message);
}

napi_value makeInt(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static void check(napi_status status, const char* what) {
  if (status != napi_ok) throw ArgError(std::string("native call failed: ") + what);
}

State* stateOf(napi_env env) {
  void* data = nullptr;
  check(napi_get_instance_data(env, &data), "instance data");
  if (data == nullptr) throw ArgError("native backend used before init");
  return static_cast<State*>(data);
}

Call::Call(napi_env e, napi_callback_info info) : env(e), state(stateOf(e)) {
  check(napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr), "arguments");
  if (argc_ > kMaxArgs) throw ArgError("too many arguments to a native op");
}

napi_value Call::arg(size_t i) const {
  if (i >= argc_) throw ArgError("missing argument " + std::to_string(i) + " to a native op");
  return argv_[i];
}

bool Call::isNull(size_t i) const {
  if (i >= argc_) return true;
  napi_valuetype type;
  check(napi_typeof(env, argv_[i], &type), "typeof");
  return type == napi_null || type == napi_undefined;
}

static int32_t slotNumber(napi_env env, napi_value v) {
  int32_t slot = -1;
  check(napi_get_value_int32(env, v, &slot), "slot number");
  return slot;
}

static const at::Tensor& lookup(State* s, int32_t slot) {
  if (slot < 0 || static_cast<size_t>(slot) >= s->slots.size() || !s->slots[slot].defined()) {
    throw ArgError("native tensor slot " + std::to_string(slot) + " is not live");
  }
  return s->slots[slot];
}

const at::Tensor& Call::t(size_t i) const { return lookup(state, slotNumber(env, arg(i))); }

at::Tensor Call::optT(size_t i) const { return isNull(i) ? at::Tensor() : t(i); }

int64_t Call::i64(size_t i) const {
  int64_t v;
  check(napi_get_value_int64(env, arg(i), &v), "integer argument");
  return v;
}

double Call::f64(size_t i) const {
  double v;
  check(napi_get_value_double(env, arg(i), &v), "number argument");
  return v;
}

bool Call::b(size_t i) const {
  bool v;
  check(napi_get_value_bool(env, arg(i), &v), "boolean argument");
  return v;
}

std::string Call::str(size_t i) const {
  size_t len = 0;
  check(napi_get_value_string_utf8(env, arg(i), nullptr, 0, &len), "string argument");
  std::string s(len, '\0');
  check(napi_get_value_string_utf8(env, arg(i), s.data(), len + 1, &len), "string argument");
  return s;
}

std::vector<double> Call::doubles(size_t i) const {
  napi_value v = arg(i);
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  std::vector<double> out;
  if (isTyped) {
    napi_typedarray_type type;
    size_t length;
    void* data;
    check(napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr), "typed array");
    out.resize(length);
    for (size_t k = 0; k < length; k++) {
      switch (type) {
        case napi_int32_array: out[k] = static_cast<int32_t*>(data)[k]; break;
        case napi_float32_array: out[k] = static_cast<float*>(data)[k]; break;
        case napi_float64_array: out[k] = static_cast<double*>(data)[k]; break;
        default: throw ArgError("unsupported typed array for a number list");
      }
    }
    return out;
  }
  uint32_t length = 0;
  check(napi_get_array_length(env, v, &length), "array argument");
  out.resize(length);
  for (uint32_t k = 0; k < length; k++) {
    napi_value el;
    check(napi_get_element(env, v, k, &el), "array element");
    check(napi_get_value_double(env, el, &out[k]), "number in array");
  }
  return out;
}

std::vector<int64_t> Call::ints(size_t i) const {
  std::vector<int64_t> out;
  for (double d : doubles(i)) out.push_back(static_cast<int64_t>(d));
  return out;
}

at::Tensor Call::array(size_t i) const {
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, arg(i), &type, &length, &data, nullptr, nullptr) != napi_ok ||
      (type != napi_int32_array && type != napi_float32_array)) {
    throw ArgError("expected an Int32Array or Float32Array argument");
  }
  const at::ScalarType st = type == napi_int32_array ? at::kInt : at::kFloat;
  at::Tensor t = at::empty({static_cast<int64_t>(length)}, at::TensorOptions().dtype(st));
  if (length > 0) std::memcpy(t.data_ptr(), data, t.nbytes());
  return t;
}

std::vector<at::Tensor> Call::tensors(size_t i) const {
  napi_value v = arg(i);
  uint32_t length = 0;
  check(napi_get_array_length(env, v, &length), "slot array");
  std::vector<at::Tensor> out;
  out.reserve(length);
  for (uint32_t k = 0; k < length; k++) {
    napi_value el;
    check(napi_get_element(env, v, k, &el), "slot array element");
    out.push_back(lookup(state, slotNumber(env, el)));
  }
  return out;
}

at::Tensor normalize(at::Tensor t) {
  switch (t.scalar_type()) {
    case at::kFloat:
    case at::kInt:
    case at::kBool: return t;
    case at::kLong:
    case at::kShort:
    case at::kChar:
    case at::kByte: return t.to(at::kInt);
    case at::kDouble:
    case at::kHalf:
    case at::kBFloat16: return t.to(at::kFloat);
    default: throw ArgError(std::string("native op produced unsupported dtype ") + c10::toString(t.scalar_type()));
  }
}

DType dtypeOf(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return kF32;
    case at::kInt: return kI32;
    case at::kBool: return kBool;
    default: throw ArgError(std::string("unexpected stored dtype ") + c10::toString(t.scalar_type()));
  }
}

at::ScalarType scalarType(int64_t code) {
  switch (code) {
    case kF32: return at::kFloat;
    case kI32: return at::kInt;
    case kBool: return at::kBool;
    default: throw ArgError("unknown dtype code " + std::to_string(code));
  }
}

int32_t store(State* s, at::Tensor t) {
  int32_t slot;
  if (!s->free.empty()) {
    slot = s->free.back();
    s->free.pop_back();
    s->slots[slot] = std::move(t);
  } else {
    slot = static_cast<int32_t>(s->slots.size());
    s->slots.push_back(std::move(t));
  }
  s->live++;
  return slot;
}

void writeMeta(State* s, const at::Tensor& t) {
  const int64_t rank = t.dim();
  if (rank > kMaxRank) throw ArgError("tensors of rank above 8 are not supported by the native backend");
  s->meta[0] = dtypeOf(t);
  s->meta[1] = static_cast<int32_t>(rank);
  for (int64_t d = 0; d < rank; d++) s->meta[2 + d] = static_cast<int32_t>(t.size(d));
}

napi_value Call::out(at::Tensor t) {
  t = normalize(std::move(t));
  writeMeta(state, t);
  return makeInt(env, store(state, std::move(t)));
}

napi_value Call::outs(const std::vector<at::Tensor>& ts) {
  napi_value arr;
  check(napi_create_array_with_length(env, ts.size(), &arr), "result array");
  for (size_t k = 0; k < ts.size(); k++) {
    at::Tensor t = normalize(ts[k]);
    dtypeOf(t);
    check(napi_set_element(env, arr, k, makeInt(env, store(state, std::move(t)))), "result element");
  }
  return arr;
}

napi_value Call::undefined() const {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

}  // namespace kiln

using namespace kiln;

// init(meta: Int32Array): the shared buffer single results describe themselves in.
KILN_OP(init) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buf = c.arg(0);
  if (napi_get_typedarray_info(c.env, buf, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array || length < static_cast<size_t>(kMetaLength)) {
    throw ArgError("init needs an Int32Array of at least 10 elements");
  }
  if (c.state->metaRef != nullptr) napi_delete_reference(c.env, c.state->metaRef);
  napi_create_reference(c.env, buf, 1, &c.state->metaRef);
  c.state->meta = static_cast<int32_t*>(data);
  return c.undefined();
}

// write(values: TypedArray, shape: number[], dtype): copies host values into a new slot.
KILN_OP(write) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(c.env, c.arg(0), &type, &length, &data, nullptr, nullptr) != napi_ok) {
    throw ArgError("write needs a typed array of values");
  }
  const std::vector<int64_t> shape = c.ints(1);
  const at::ScalarType st = scalarType(c.i64(2));
  // Bools arrive as bytes that may hold any nonzero value; they become 0/1 below.
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st == at::kBool ? at::kByte : st));
  const bool typeOk = (st == at::kFloat && type == napi_float32_array) || (st == at::kInt && type == napi_int32_array) ||
                      (st == at::kBool && (type == napi_uint8_array || type == napi_int8_array));
  if (!typeOk) throw ArgError("write: values typed array does not match the dtype");
  if (static_cast<int64_t>(length) != t.numel()) {
    throw ArgError("write: " + std::to_string(length) + " values for a shape of " + std::to_string(t.numel()) + " elements");
  }
  if (t.numel() > 0) std::memcpy(t.data_ptr(), data, t.nbytes());
  if (st == at::kBool) t = t.ne(0);  // tfjs bools are any nonzero byte
  return c.out(std::move(t));
}

// read(slot): a host copy of the values as Float32Array, Int32Array or Uint8Array.
KILN_OP(read) {
  at::Tensor t = c.t(0).contiguous();
  const size_t bytes = t.nbytes();
  void* data = nullptr;
  napi_value ab;
  if (napi_create_arraybuffer(c.env, bytes, &data, &ab) != napi_ok) throw ArgError("read: cannot allocate the result");
  if (bytes > 0) std::memcpy(data, t.data_ptr(), bytes);
  napi_typedarray_type type = t.scalar_type() == at::kFloat ? napi_float32_array
                              : t.scalar_type() == at::kInt ? napi_int32_array
                                                            : napi_uint8_array;
  napi_value out;
  napi_create_typedarray(c.env, type, t.numel(), ab, 0, &out);
  return out;
}

// dispose(slot): frees the slot's tensor (its storage goes when no view shares it).
KILN_OP(dispose) {
  State* s = c.state;
  const int32_t slot = static_cast<int32_t>(c.i64(0));
  lookup(s, slot);
  s->slots[slot] = at::Tensor();
  s->free.push_back(slot);
  s->live--;
  return c.undefined();
}

// describe(slot): writes the slot's dtype and shape to meta (for multi-result ops).
KILN_OP(describe) {
  writeMeta(c.state, c.t(0));
  return c.undefined();
}

// stats(): [live slots, bytes of their storages (each storage counted once), idle cached bytes].
KILN_OP(stats) {
  std::vector<const void*> seen;
  int64_t bytes = 0;
  for (const at::Tensor& t : c.state->slots) {
    if (!t.defined()) continue;
    const void* key = t.storage().unsafeGetStorageImpl();
    bool dup = false;
    for (const void* k : seen) dup = dup || k == key;
    if (dup) continue;
    seen.push_back(key);
    bytes += static_cast<int64_t>(t.storage().nbytes());
  }
  napi_value arr;
  napi_create_array_with_length(c.env, 3, &arr);
  napi_set_element(c.env, arr, 0, makeInt(c.env, c.state->live));
  napi_set_element(c.env, arr, 1, makeInt(c.env, bytes));
  napi_set_element(c.env, arr, 2, makeInt(c.env, static_cast<int64_t>(cacheStats().second)));
  return arr;
}


using OpenblasSetThreads = void (*)(int);
using OpenblasGetConfig = char* (*)();
using OpenblasGetThreads = int (*)();

// Whether OpenBLAS is the OpenMP build, which shares ATen's thread pool. The pthreads build keeps
// a pool of its own whose spinning threads, beside ATen's, made a 2-thread MLP step 7x slower.
static bool openmpBlas() {
  auto cfg = reinterpret_cast<OpenblasGetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  return cfg != nullptr && std::strstr(cfg(), "USE_OPENMP") != nullptr;
}

// setThreads(n): intra-op threads of ATen (OpenMP, oneDNN) and of OpenBLAS (n with the OpenMP
// build, 1 with the pthreads build); returns ATen's count.
KILN_OP(setThreads) {
  const int64_t n = c.i64(0);
  require(n >= 1 && n <= 1024, "thread count must be between 1 and 1024");
  at::set_num_threads(static_cast<int>(n));
  if (auto f = reinterpret_cast<OpenblasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(openmpBlas() ? static_cast<int>(n) : 1);
  return makeInt(c.env, at::get_num_threads());
}

static void setString(napi_env env, napi_value obj, const char* key, const std::string& value) {
  napi_value v;
  napi_create_string_utf8(env, value.c_str(), value.size(), &v);
  napi_set_named_property(env, obj, key, v);
}

// info(): libtorch version, threads, parallel backend, oneDNN and BLAS.
KILN_OP(info) {
  napi_value obj;
  napi_create_object(c.env, &obj);
  setString(c.env, obj, "torch", TORCH_VERSION);
  napi_set_named_property(c.env, obj, "threads", makeInt(c.env, at::get_num_threads()));
  setString(c.env, obj, "parallel", at::get_parallel_info());
  napi_value mkldnn;
  napi_get_boolean(c.env, at::hasMKLDNN(), &mkldnn);
  napi_set_named_property(c.env, obj, "mkldnn", mkldnn);
  auto cfg = reinterpret_cast<OpenblasGetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  setString(c.env, obj, "blas", cfg ? std::string(cfg()) : std::string("unknown (not OpenBLAS)"));
  auto blasThreads = reinterpret_cast<OpenblasGetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  napi_set_named_property(c.env, obj, "blasThreads", makeInt(c.env, blasThreads ? blasThreads() : -1));
  return obj;
}

static void finalizeState(napi_env env, void* data, void*) {
  State* s = static_cast<State*>(data);
  if (s->metaRef != nullptr) napi_delete_reference(env, s->metaRef);
  delete s;
}

// Tensor memory freed by one training step is needed again by the next. glibc hands large blocks
// back to the kernel (munmap, heap trimming), and on these virtual machines faulting them in again
// dominated the step time (PyTorch's CNN step: 60-330 ms with glibc's defaults, 22 ms with these
// settings). So freed blocks up to 32 MiB stay in the process for reuse.
static void keepFreedMemory() {
  static bool done = false;
  if (done) return;
  done = true;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

// emptyCache(): frees the idle blocks the caching allocator keeps; returns the bytes freed.
KILN_OP(emptyCache) {
  return makeInt(c.env, static_cast<int64_t>(kiln::emptyCache()));
}

NAPI_MODULE_INIT() {
  keepFreedMemory();
  if (std::getenv("KILN_NATIVE_MALLOC") == nullptr) installCachingAllocator();
  napi_set_instance_data(env, new State(), finalizeState, nullptr);
  for (const auto& [name, cb] : opTable()) {
    napi_value fn;
    napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
    napi_set_named_property(env, exports, name, fn);
  }
  return exports;
}
