// thaw/io/pickle.hpp — a closed unpickler for PyTorch state dicts.
//
// Python's pickle is a small stack machine whose GLOBAL and REDUCE opcodes import and call
// anything; PyTorch's restricted loader has been bypassed twice (CVE-2025-32434,
// CVE-2026-24747). This one is closed by construction: it knows the opcodes a state dict uses
// (a subset of those torch/_weights_only_unpickler.py accepts) and five callables, which it
// interprets itself; it never calls or imports anything. Every length, the memo, the number
// of values and the nesting depth are bounded, and a container cannot be changed once it is
// inside another, so no value can contain itself. Any other opcode or global is an error that
// names it and its byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "thaw/io/tensor.hpp"

namespace thaw::io::pickle {

struct Value;
using Ref = std::shared_ptr<Value>;

// A storage as a persistent ID names it; the loader reads its bytes later.
struct StorageRef {
  std::string key;             // record name: data/<key> (zip) or the legacy storage key
  DType dtype = DType::F32;
  std::uint64_t numel = 0;     // elements the file declares
  std::uint64_t view_offset = 0;  // legacy storage views: first element within `key`
};

// torch._utils._rebuild_tensor(_v2)(storage, offset, size, stride, ...), not yet read.
struct TensorRef {
  StorageRef storage;
  std::int64_t offset = 0;
  std::vector<std::int64_t> size, stride;
};

struct Value {
  enum class Kind { None, Bool, Int, BigInt, Float, String, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  std::int64_t integer = 0;   // Bool, Int
  double real = 0;            // Float
  std::string text;           // String; Global as "module.name"; BigInt as little-endian bytes
  std::vector<Ref> items;     // Tuple, List; Dict as key, value, key, value, ...
  StorageRef storage;         // Storage
  TensorRef tensor;           // Tensor
  int depth = 1;              // 1 + the deepest item
  bool sealed = false;        // inside another container: no longer mutable
};

struct Limits {
  std::size_t max_depth = 32;
  std::size_t max_values = 1 << 20;
  std::size_t max_memo = 1 << 20;
  std::size_t max_text = 1 << 16;  // one string or global name, in bytes
};

// The callables a state dict needs; REDUCE on anything else is refused.
inline constexpr std::string_view ordered_dict = "collections.OrderedDict";
inline constexpr std::string_view rebuild_tensor_v2 = "torch._utils._rebuild_tensor_v2";
inline constexpr std::string_view rebuild_tensor = "torch._utils._rebuild_tensor";
inline constexpr std::string_view rebuild_parameter = "torch._utils._rebuild_parameter";

// Storage classes, which appear only inside persistent IDs.
inline bool storage_dtype(std::string_view global, DType& dtype) {
  if (global == "torch.FloatStorage") dtype = DType::F32;
  else if (global == "torch.HalfStorage") dtype = DType::F16;
  else if (global == "torch.BFloat16Storage") dtype = DType::BF16;
  else if (global == "torch.LongStorage") dtype = DType::I64;
  else return false;
  return true;
}

inline bool is_allowed_global(std::string_view g) {
  DType unused;
  return g == ordered_dict || g == rebuild_tensor_v2 || g == rebuild_tensor || g == rebuild_parameter ||
         storage_dtype(g, unused) || (g.starts_with("torch.") && g.ends_with("Storage"));
}

class Unpickler {
 public:
  // Turns a persistent ID (a tuple) into a Storage value, or throws.
  using PersistentLoad = std::function<Ref(const Value& pid, std::size_t offset)>;

  Unpickler(std::span<const std::byte> data, PersistentLoad persistent_load, Limits limits = {})
      : data_(data), persistent_load_(std::move(persistent_load)), limits_(limits) {}

  // Runs one pickle, from the current position to its STOP, and returns its value.
  Ref load() {
    stack_.clear();
    marks_.clear();
    memo_.clear();
    for (;;) {
      op_offset_ = pos_;
      const std::uint8_t op = u8();
      switch (op) {
        case 0x80: if (u8() > 5) fail("unknown pickle protocol"); break;       // PROTO
        case 0x95: take(8); break;                                               // FRAME
        case '.': return pop();                                                  // STOP
        case '(': marks_.push_back(stack_.size()); check_count(marks_.size()); break;  // MARK
        case '0': pop(); break;                                                  // POP
        case '1': pop_mark(); break;                                             // POP_MARK
        case 'N': push(make(Value::Kind::None)); break;
        case 0x88: push_int(Value::Kind::Bool, 1); break;                        // NEWTRUE
        case 0x89: push_int(Value::Kind::Bool, 0); break;                        // NEWFALSE
        case 'K': push_int(Value::Kind::Int, u8()); break;                       // BININT1
        case 'M': push_int(Value::Kind::Int, le(2)); break;                      // BININT2
        case 'J': push_int(Value::Kind::Int, std::int32_t(le(4))); break;        // BININT
        case 0x8a: long1(); break;                                               // LONG1
        case 'G': binfloat(); break;                                             // BINFLOAT
        case 'X': push_text(le(4)); break;                                       // BINUNICODE
        case 0x8c: case 'U': push_text(u8()); break;                             // SHORT_BINUNICODE, SHORT_BINSTRING
        case '}': push(make(Value::Kind::Dict)); break;                          // EMPTY_DICT
        case ']': push(make(Value::Kind::List)); break;                          // EMPTY_LIST
        case ')': push(make(Value::Kind::Tuple)); break;                         // EMPTY_TUPLE
        case 't': push(container(Value::Kind::Tuple, pop_mark())); break;        // TUPLE
        case 'l': push(container(Value::Kind::List, pop_mark())); break;         // LIST
        case 0x85: case 0x86: case 0x87: push(container(Value::Kind::Tuple, pop_n(op - 0x84))); break;
        case 'a': { auto v = pop(); append(top(Value::Kind::List), {v}); break; }        // APPEND
        case 'e': { auto v = pop_mark(); append(top(Value::Kind::List), v); break; }     // APPENDS
        case 's': { auto v = pop_n(2); append(top(Value::Kind::Dict), v); break; }       // SETITEM
        case 'u': { auto v = pop_mark(); if (v.size() % 2) fail("odd SETITEMS"); append(top(Value::Kind::Dict), v); break; }
        case 'q': memo_put(u8()); break;                                         // BINPUT
        case 'r': memo_put(le(4)); break;                                        // LONG_BINPUT
        case 0x94: memo_put(memo_.size()); break;                                // MEMOIZE
        case 'h': memo_get(u8()); break;                                         // BINGET
        case 'j': memo_get(le(4)); break;                                        // LONG_BINGET
        case 'c': { auto module = line(); global(module, line()); break; }       // GLOBAL
        case 0x93: { auto name = pop(); auto module = pop(); global(string_of(*module), string_of(*name)); break; }
        case 'Q': { auto pid = pop(); push(persistent_load_(*pid, op_offset_)); break; }  // BINPERSID
        case 'R': reduce(); break;
        case 'b': build(); break;
        default: fail("opcode 0x" + hex(op) + " is not allowed in a state dict");
      }
    }
  }

  std::size_t position() const { return pos_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("pickle: " + what + " (opcode at byte " + std::to_string(op_offset_) + ")");
  }

 private:
  static std::string hex(unsigned v) {
    const char* digits = "0123456789abcdef";
    return {digits[(v >> 4) & 15], digits[v & 15]};
  }

  std::span<const std::byte> take(std::size_t n) {
    if (n > data_.size() - pos_) fail("truncated: needs " + std::to_string(n) + " more bytes");
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::uint8_t u8() { return std::uint8_t(take(1)[0]); }
  std::uint64_t le(std::size_t n) {
    std::uint64_t v = 0;
    auto bytes = take(n);
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(std::uint8_t(bytes[i])) << (8 * i);
    return v;
  }
  std::string line() {
    std::string s;
    for (char c; (c = char(u8())) != '\n';) {
      s += c;
      if (s.size() > 256) fail("GLOBAL name longer than 256 bytes");
    }
    return s;
  }

  Ref make(Value::Kind kind) {
    if (++values_ > limits_.max_values) fail("more than " + std::to_string(limits_.max_values) + " values");
    auto v = std::make_shared<Value>();
    v->kind = kind;
    return v;
  }
  void push(Ref v) { stack_.push_back(std::move(v)); }
  void push_int(Value::Kind kind, std::int64_t i) {
    auto v = make(kind);
    v->integer = i;
    push(std::move(v));
  }
  void check_count(std::size_t n) const {
    if (n > limits_.max_values) fail("stack or mark depth over " + std::to_string(limits_.max_values));
  }
  Ref pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("stack underflow");
    auto v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  std::vector<Ref> pop_n(std::size_t n) {
    if (stack_.size() < n + (marks_.empty() ? 0 : marks_.back())) fail("stack underflow");
    std::vector<Ref> v(stack_.end() - std::ptrdiff_t(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return v;
  }
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Ref> v(stack_.begin() + std::ptrdiff_t(mark), stack_.end());
    stack_.resize(mark);
    return v;
  }
  Value& top(Value::Kind kind) {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back()) || stack_.back()->kind != kind)
      fail(kind == Value::Kind::List ? "APPEND needs a list" : "SETITEM needs a dict");
    return *stack_.back();
  }

  // Adds `items` to `target`, sealing them; depth and sealing keep the graph a shallow tree.
  void append(Value& target, const std::vector<Ref>& items) {
    for (const auto& item : items) item->sealed = true;  // first, so appending X to X fails too
    if (target.sealed) fail("changes a container that is already inside another (or itself)");
    for (const auto& item : items) {
      target.depth = std::max(target.depth, item->depth + 1);
      target.items.push_back(item);
    }
    if (std::size_t(target.depth) > limits_.max_depth)
      fail("nesting deeper than " + std::to_string(limits_.max_depth));
  }
  Ref container(Value::Kind kind, const std::vector<Ref>& items) {
    auto v = make(kind);
    append(*v, items);
    return v;
  }

  void long1() {
    const std::size_t n = u8();
    auto bytes = take(n);
    if (n <= 8) {
      std::uint64_t v = 0;
      for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(std::uint8_t(bytes[i])) << (8 * i);
      if (n > 0 && n < 8 && (std::uint8_t(bytes[n - 1]) & 0x80)) v |= ~std::uint64_t(0) << (8 * n);  // sign
      push_int(Value::Kind::Int, std::int64_t(v));
    } else {
      auto v = make(Value::Kind::BigInt);
      v->text.assign(reinterpret_cast<const char*>(bytes.data()), n);
      push(std::move(v));
    }
  }
  void binfloat() {
    std::uint64_t bits = 0;
    for (auto b : take(8)) bits = (bits << 8) | std::uint8_t(b);  // big-endian
    auto v = make(Value::Kind::Float);
    std::memcpy(&v->real, &bits, 8);
    push(std::move(v));
  }
  void push_text(std::uint64_t n) {
    if (n > limits_.max_text) fail("string of " + std::to_string(n) + " bytes is longer than allowed");
    auto bytes = take(std::size_t(n));
    auto v = make(Value::Kind::String);
    v->text.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    push(std::move(v));
  }
  std::string string_of(const Value& v) const {
    if (v.kind != Value::Kind::String) fail("STACK_GLOBAL needs two strings");
    return v.text;
  }

  void memo_put(std::uint64_t index) {
    if (index >= limits_.max_memo) fail("memo index " + std::to_string(index) + " is over the limit");
    if (stack_.empty()) fail("PUT on an empty stack");
    if (index >= memo_.size()) memo_.resize(std::size_t(index) + 1);
    memo_[std::size_t(index)] = stack_.back();
  }
  void memo_get(std::uint64_t index) {
    if (index >= memo_.size() || !memo_[std::size_t(index)]) fail("GET of unset memo index " + std::to_string(index));
    push(memo_[std::size_t(index)]);
  }

  void global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    if (!is_allowed_global(full)) fail("global '" + full + "' is not allowed (thaw reads tensors only)");
    auto v = make(Value::Kind::Global);
    v->text = full;
    push(std::move(v));
  }

  void reduce() {
    auto args = pop();
    auto callable = pop();
    if (callable->kind != Value::Kind::Global || args->kind != Value::Kind::Tuple)
      fail("REDUCE needs an allowed global and a tuple");
    args->sealed = true;
    const auto& a = args->items;
    const std::string& f = callable->text;
    if (f == ordered_dict) {
      if (!a.empty()) fail("OrderedDict with arguments");
      return push(make(Value::Kind::Dict));
    }
    if (f == rebuild_parameter) {
      if (a.empty() || a[0]->kind != Value::Kind::Tensor) fail("_rebuild_parameter needs a tensor");
      return push(a[0]);
    }
    if ((f == rebuild_tensor_v2 && a.size() >= 6 && a.size() <= 7) || (f == rebuild_tensor && a.size() == 4)) {
      if (a[0]->kind != Value::Kind::Storage || a[1]->kind != Value::Kind::Int)
        fail(f + " needs (storage, offset, size, stride, ...)");
      auto t = make(Value::Kind::Tensor);
      t->tensor.storage = a[0]->storage;
      t->tensor.offset = a[1]->integer;
      t->tensor.size = int_tuple(*a[2]);
      t->tensor.stride = int_tuple(*a[3]);
      if (t->tensor.size.size() != t->tensor.stride.size()) fail("tensor size and stride differ in length");
      return push(std::move(t));
    }
    fail("REDUCE on '" + f + "' with " + std::to_string(a.size()) + " arguments is not allowed");
  }
  std::vector<std::int64_t> int_tuple(const Value& v) const {
    if (v.kind != Value::Kind::Tuple || v.items.size() > 16) fail("tensor size/stride must be a tuple of at most 16 ints");
    std::vector<std::int64_t> out;
    for (const auto& item : v.items) {
      if (item->kind != Value::Kind::Int) fail("tensor size/stride must be ints");
      out.push_back(item->integer);
    }
    return out;
  }

  // BUILD sets an object's state; a state dict's OrderedDict carries `_metadata` that way and
  // a Parameter may carry hooks. Both are accepted and ignored; anything else is refused.
  void build() {
    auto state = pop();
    if (stack_.empty()) fail("BUILD on an empty stack");
    const auto kind = stack_.back()->kind;
    if (kind != Value::Kind::Dict && kind != Value::Kind::Tensor) fail("BUILD on something other than a dict or tensor");
  }

  std::span<const std::byte> data_;
  PersistentLoad persistent_load_;
  Limits limits_;
  std::size_t pos_ = 0, op_offset_ = 0, values_ = 0;
  std::vector<Ref> stack_, memo_;
  std::vector<std::size_t> marks_;
};

}  // namespace thaw::io::pickle
