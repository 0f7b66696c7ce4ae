#include "mux/pickle.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <unordered_map>

#include <fmt/format.h>

#include "mux/latin1.hpp"

namespace faultmux::pickle {
namespace {

// The opcodes we read or write, by their pickle names.
namespace op {
inline constexpr std::uint8_t mark = 0x28;
inline constexpr std::uint8_t empty_tuple = 0x29;
inline constexpr std::uint8_t stop = 0x2e;
inline constexpr std::uint8_t binbytes = 0x42;
inline constexpr std::uint8_t short_binbytes = 0x43;
inline constexpr std::uint8_t binfloat = 0x47;
inline constexpr std::uint8_t binint = 0x4a;
inline constexpr std::uint8_t binint1 = 0x4b;
inline constexpr std::uint8_t binint2 = 0x4d;
inline constexpr std::uint8_t none = 0x4e;
inline constexpr std::uint8_t reduce = 0x52;
inline constexpr std::uint8_t binstring = 0x54;
inline constexpr std::uint8_t short_binstring = 0x55;
inline constexpr std::uint8_t binunicode = 0x58;
inline constexpr std::uint8_t empty_list = 0x5d;
inline constexpr std::uint8_t append = 0x61;
inline constexpr std::uint8_t global = 0x63;
inline constexpr std::uint8_t appends = 0x65;
inline constexpr std::uint8_t binget = 0x68;
inline constexpr std::uint8_t long_binget = 0x6a;
inline constexpr std::uint8_t binput = 0x71;
inline constexpr std::uint8_t long_binput = 0x72;
inline constexpr std::uint8_t setitem = 0x73;
inline constexpr std::uint8_t tuple = 0x74;
inline constexpr std::uint8_t setitems = 0x75;
inline constexpr std::uint8_t empty_dict = 0x7d;
inline constexpr std::uint8_t proto = 0x80;
inline constexpr std::uint8_t tuple1 = 0x85;
inline constexpr std::uint8_t tuple2 = 0x86;
inline constexpr std::uint8_t tuple3 = 0x87;
inline constexpr std::uint8_t newtrue = 0x88;
inline constexpr std::uint8_t newfalse = 0x89;
inline constexpr std::uint8_t long1 = 0x8a;
inline constexpr std::uint8_t long4 = 0x8b;
inline constexpr std::uint8_t short_binunicode = 0x8c;
inline constexpr std::uint8_t binunicode8 = 0x8d;
}  // namespace op

struct opcode_entry {
  std::uint8_t code;
  const char* name;
};

// Every opcode of pickle protocols 0-5, so that a refusal can name it.
constexpr opcode_entry opcode_table[] = {
    {0x28, "MARK"},         {0x29, "EMPTY_TUPLE"},
    {0x2e, "STOP"},         {0x30, "POP"},
    {0x31, "POP_MARK"},     {0x32, "DUP"},
    {0x42, "BINBYTES"},     {0x43, "SHORT_BINBYTES"},
    {0x46, "FLOAT"},        {0x47, "BINFLOAT"},
    {0x49, "INT"},          {0x4a, "BININT"},
    {0x4b, "BININT1"},      {0x4c, "LONG"},
    {0x4d, "BININT2"},      {0x4e, "NONE"},
    {0x50, "PERSID"},       {0x51, "BINPERSID"},
    {0x52, "REDUCE"},       {0x53, "STRING"},
    {0x54, "BINSTRING"},    {0x55, "SHORT_BINSTRING"},
    {0x56, "UNICODE"},      {0x58, "BINUNICODE"},
    {0x5d, "EMPTY_LIST"},   {0x61, "APPEND"},
    {0x62, "BUILD"},        {0x63, "GLOBAL"},
    {0x64, "DICT"},         {0x65, "APPENDS"},
    {0x67, "GET"},          {0x68, "BINGET"},
    {0x69, "INST"},         {0x6a, "LONG_BINGET"},
    {0x6c, "LIST"},         {0x6f, "OBJ"},
    {0x70, "PUT"},          {0x71, "BINPUT"},
    {0x72, "LONG_BINPUT"},  {0x73, "SETITEM"},
    {0x74, "TUPLE"},        {0x75, "SETITEMS"},
    {0x7d, "EMPTY_DICT"},   {0x80, "PROTO"},
    {0x81, "NEWOBJ"},       {0x82, "EXT1"},
    {0x83, "EXT2"},         {0x84, "EXT4"},
    {0x85, "TUPLE1"},       {0x86, "TUPLE2"},
    {0x87, "TUPLE3"},       {0x88, "NEWTRUE"},
    {0x89, "NEWFALSE"},     {0x8a, "LONG1"},
    {0x8b, "LONG4"},        {0x8c, "SHORT_BINUNICODE"},
    {0x8d, "BINUNICODE8"},  {0x8e, "BINBYTES8"},
    {0x8f, "EMPTY_SET"},    {0x90, "ADDITEMS"},
    {0x91, "FROZENSET"},    {0x92, "NEWOBJ_EX"},
    {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"},
    {0x95, "FRAME"},        {0x96, "BYTEARRAY8"},
    {0x97, "NEXT_BUFFER"},  {0x98, "READONLY_BUFFER"},
};

// "BUILD (0x62 'b')": name, byte and, when printable, the character.
std::string describe_opcode(std::uint8_t code) {
  const char* name = opcode_name(code);
  std::string s =
      *name ? fmt::format("{} (0x{:02x}", name, code) : fmt::format("0x{:02x} (unknown", code);
  if (code >= 0x21 && code < 0x7f) s += fmt::format(" '{}'", static_cast<char>(code));
  s += ')';
  return s;
}

// Untrusted text in an error: printable ASCII as is, the rest escaped, and
// cut short, so that an error stays one short line.
std::string printable(std::string_view s, std::size_t max = 64) {
  std::string out;
  for (char c : s.substr(0, max)) {
    auto b = static_cast<std::uint8_t>(c);
    if (b >= 0x20 && b < 0x7f && c != '\\') {
      out.push_back(c);
    } else {
      out += fmt::format("\\x{:02x}", b);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// What each global Mitogen's _find_global allows stands for.
enum class callable : std::uint8_t {
  call_error,
  sender,
  context,
  blob,
  secret,
  kwargs,
  codecs_encode,
  builtin_bytes
};

struct global_entry {
  std::string_view module;
  std::string_view name;
  callable fn;
};

// Mitogen 0.3.3's Message._find_global, entry for entry. "CallError" maps to
// _unpickle_call_error there too.
constexpr global_entry allowed_globals[] = {
    {"mitogen.core", "_unpickle_call_error", callable::call_error},
    {"mitogen.core", "CallError", callable::call_error},
    {"mitogen.core", "_unpickle_sender", callable::sender},
    {"mitogen.core", "_unpickle_context", callable::context},
    {"mitogen.core", "Blob", callable::blob},
    {"mitogen.core", "Secret", callable::secret},
    {"mitogen.core", "Kwargs", callable::kwargs},
    {"_codecs", "encode", callable::codecs_encode},
    {"__builtin__", "bytes", callable::builtin_bytes},
};

// The canonical name of each callable, for error text.
const char* callable_name(callable fn) {
  switch (fn) {
    case callable::call_error:
      return "mitogen.core._unpickle_call_error";
    case callable::sender:
      return "mitogen.core._unpickle_sender";
    case callable::context:
      return "mitogen.core._unpickle_context";
    case callable::blob:
      return "mitogen.core.Blob";
    case callable::secret:
      return "mitogen.core.Secret";
    case callable::kwargs:
      return "mitogen.core.Kwargs";
    case callable::codecs_encode:
      return "_codecs.encode";
    case callable::builtin_bytes:
      return "__builtin__.bytes";
  }
  return "?";
}

constexpr std::size_t max_global_line = 256;
constexpr std::size_t max_call_error_chars = 10000;  // _unpickle_call_error: len(s) < 10000
constexpr std::size_t max_context_name_chars = 100;  // _unpickle_context: len(name) < 100
constexpr std::size_t work_per_item = 8;

// Decoding happens in two passes. Parsing runs the opcodes over a graph of
// nodes (indices, so that the memo can share an object still being filled,
// as Python's does); then the root is copied out into a value tree, with
// depth and size counted on the copy, which is where sharing multiplies.
class decoder {
 public:
  decoder(std::string_view in, const limits& lim) : in_(in), lim_(lim) {}

  result<value> run();

 private:
  enum class kind : std::uint8_t {
    none,
    boolean,
    integer,
    big_integer,
    floating,
    text,
    bytes,
    tuple,
    list,
    dict,
    kwargs,
    call_error,
    blob,
    secret,
    context,
    sender,
    global
  };

  struct node {
    kind k = kind::none;
    bool hashable = true;  // Python would accept it as a dict key
    bool has_name = false;
    std::size_t offset = 0;
    std::int64_t i = 0;     // bool, int, float bits, context id, callable
    std::int64_t j = 0;     // text: code points; sender: handle
    std::string_view view;  // text, bytes, big int bytes, context name: in the input...
    std::string owned;      // ...or here, when converted
    bool is_owned = false;
    // tuple, list: items; dict, kwargs: key, value, key, value...;
    // call_error, secret: the text node; blob: the bytes node.
    std::vector<std::size_t> items;

    std::string_view str() const { return is_owned ? std::string_view(owned) : view; }
  };

  static const char* kind_name(kind k);

  bool fail_at(std::size_t offset, const std::string& msg) {
    if (error_.empty()) error_ = fmt::format("pickle offset {}: {}", offset, msg);
    return false;
  }
  bool fail(const std::string& msg) { return fail_at(op_offset_, msg); }

  std::size_t left() const { return in_.size() - pos_; }
  bool need(std::size_t n) {
    if (left() >= n) return true;
    return fail(
        fmt::format("truncated {}: needs {} bytes, {} left", describe_opcode(op_), n, left()));
  }
  // Little-endian unsigned field of n bytes; call need() first.
  std::uint64_t read_le(std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      v |= std::uint64_t{static_cast<std::uint8_t>(in_[pos_ + k])} << (8 * k);
    }
    pos_ += n;
    return v;
  }
  // A payload of `len` bytes announced by a length field: checked against
  // the input before anything is allocated.
  bool read_payload(std::uint64_t len, std::string_view& out) {
    if (len > left()) {
      return fail(
          fmt::format("{} length {} exceeds the {} bytes left", describe_opcode(op_), len, left()));
    }
    out = in_.substr(pos_, static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return true;
  }

  bool charge_work(std::size_t n) {
    const std::size_t cap =
        lim_.max_items > SIZE_MAX / work_per_item ? SIZE_MAX : lim_.max_items * work_per_item;
    work_ += n;
    if (work_ <= cap) return true;
    return fail(
        fmt::format("more than {} objects while parsing (max_items {})", cap, lim_.max_items));
  }
  bool push_node(node n) {
    if (!charge_work(1)) return false;
    n.offset = op_offset_;
    nodes_.push_back(std::move(n));
    stack_.push_back(nodes_.size() - 1);
    return true;
  }
  bool push_kind(kind k) {
    node n;
    n.k = k;
    n.hashable = k != kind::list && k != kind::dict && k != kind::kwargs;
    return push_node(std::move(n));
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  bool pop(std::size_t& idx) {
    if (stack_.size() <= floor()) {
      return fail(fmt::format("{} with nothing on the stack{}", describe_opcode(op_),
                              marks_.empty() ? "" : " above the MARK"));
    }
    idx = stack_.back();
    stack_.pop_back();
    return true;
  }
  // Everything above the topmost MARK, which is removed.
  bool pop_mark(std::vector<std::size_t>& items) {
    if (marks_.empty()) return fail(fmt::format("{} without a MARK", describe_opcode(op_)));
    items.assign(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return true;
  }
  bool top(std::size_t& idx) {
    if (stack_.size() <= floor()) {
      return fail(fmt::format("{} with nothing on the stack{}", describe_opcode(op_),
                              marks_.empty() ? "" : " above the MARK"));
    }
    idx = stack_.back();
    return true;
  }

  bool step();
  bool step_structure();
  bool read_proto();
  bool on_stop();
  bool push_float();
  bool push_int(std::int64_t v);
  bool push_long(std::uint64_t len);
  bool push_text(std::uint64_t len);
  bool push_bytes(std::uint64_t len);
  bool push_tuple(std::size_t n);
  bool add_to_list(std::size_t list_idx, const std::vector<std::size_t>& items);
  bool add_to_dict(std::size_t dict_idx, const std::vector<std::size_t>& kv);
  bool memo_put(std::uint64_t key);
  bool memo_get(std::uint64_t key);
  bool load_global();
  bool reduce();
  bool apply(callable fn, const std::vector<std::size_t>& args);
  bool bad_args(callable fn, const std::vector<std::size_t>& args, const char* expected);
  bool apply_context(const std::vector<std::size_t>& args, node& n);
  bool apply_kwargs(const std::vector<std::size_t>& args, node& n);
  bool apply_codecs_encode(const std::vector<std::size_t>& args, node& n);

  bool materialize(std::size_t idx, std::size_t depth, value& out);
  bool materialize_container(const node& n, std::size_t depth, value& out);
  bool materialize_kwargs(const node& n, std::size_t depth, value& out);
  bool materialize_pairs(const node& n, std::size_t depth, pairs& out);
  bool charge_output(const node& n, std::size_t items, std::size_t bytes);

  std::string_view in_;
  limits lim_;
  std::size_t pos_ = 0;
  std::size_t op_offset_ = 0;
  std::uint8_t op_ = 0;
  std::vector<node> nodes_;
  std::vector<std::size_t> stack_;
  std::vector<std::size_t> marks_;  // stack sizes at each open MARK
  std::unordered_map<std::uint64_t, std::size_t> memo_;
  std::size_t work_ = 0;             // nodes, memo entries and references made
  std::size_t converted_bytes_ = 0;  // by _codecs.encode
  std::size_t out_items_ = 0;
  std::size_t out_bytes_ = 0;
  std::string error_;
  bool done_ = false;
  std::size_t root_ = 0;
};

const char* decoder::kind_name(kind k) {
  switch (k) {
    case kind::none:
      return "None";
    case kind::boolean:
      return "bool";
    case kind::integer:
    case kind::big_integer:
      return "int";
    case kind::floating:
      return "float";
    case kind::text:
      return "str";
    case kind::bytes:
      return "bytes";
    case kind::tuple:
      return "tuple";
    case kind::list:
      return "list";
    case kind::dict:
      return "dict";
    case kind::kwargs:
      return "Kwargs";
    case kind::call_error:
      return "CallError";
    case kind::blob:
      return "Blob";
    case kind::secret:
      return "Secret";
    case kind::context:
      return "Context";
    case kind::sender:
      return "Sender";
    case kind::global:
      return "global";
  }
  return "?";
}

result<value> decoder::run() {
  // Most opcodes push a node; growing the vector would move them all.
  nodes_.reserve(std::min<std::size_t>(in_.size() / 2 + 4, 1024));
  while (error_.empty() && !done_) {
    if (pos_ >= in_.size()) {
      fail_at(pos_, "end of input before STOP");
      break;
    }
    step();
  }
  value v;
  if (error_.empty()) materialize(root_, 0, v);
  if (!error_.empty()) return {boost::system::in_place_error, error_};
  return v;
}

// The opcodes that push one scalar, the most frequent; the rest go to
// step_structure().
bool decoder::step() {
  op_offset_ = pos_;
  op_ = static_cast<std::uint8_t>(in_[pos_++]);
  switch (op_) {
    case op::none:
      return push_kind(kind::none);
    case op::newtrue:
    case op::newfalse: {
      node n;
      n.k = kind::boolean;
      n.i = op_ == op::newtrue;
      return push_node(std::move(n));
    }
    case op::binint:
      return need(4) && push_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4))));
    case op::binint1:
      return need(1) && push_int(static_cast<std::int64_t>(read_le(1)));
    case op::binint2:
      return need(2) && push_int(static_cast<std::int64_t>(read_le(2)));
    case op::long1:
      return need(1) && push_long(read_le(1));
    case op::long4: {
      if (!need(4)) return false;
      auto n = static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4)));
      if (n < 0) return fail(fmt::format("{} with negative length {}", describe_opcode(op_), n));
      return push_long(static_cast<std::uint64_t>(n));
    }
    case op::binfloat:
      return push_float();
    case op::binunicode:
      return need(4) && push_text(read_le(4));
    case op::short_binunicode:
      return need(1) && push_text(read_le(1));
    case op::binunicode8:
      return need(8) && push_text(read_le(8));
    case op::binstring: {
      if (!need(4)) return false;
      auto n = static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4)));
      if (n < 0) return fail(fmt::format("{} with negative length {}", describe_opcode(op_), n));
      return push_bytes(static_cast<std::uint64_t>(n));
    }
    case op::short_binstring:
    case op::short_binbytes:
      return need(1) && push_bytes(read_le(1));
    case op::binbytes:
      return need(4) && push_bytes(read_le(4));
    default:
      return step_structure();
  }
}

// PROTO, STOP, containers, the memo and calls; refuses every other opcode.
bool decoder::step_structure() {
  std::vector<std::size_t> items;
  std::size_t a = 0;
  std::size_t b = 0;
  switch (op_) {
    case op::proto:
      return read_proto();
    case op::stop:
      return on_stop();
    case op::empty_tuple:
      return push_tuple(0);
    case op::tuple1:
      return push_tuple(1);
    case op::tuple2:
      return push_tuple(2);
    case op::tuple3:
      return push_tuple(3);
    case op::mark:
      // Legitimate pickles open one MARK per container being filled.
      if (marks_.size() > lim_.max_depth) {
        return fail(fmt::format("more than {} MARKs open", lim_.max_depth));
      }
      marks_.push_back(stack_.size());
      return true;
    case op::tuple: {
      if (marks_.empty()) return fail(fmt::format("{} without a MARK", describe_opcode(op_)));
      std::size_t count = stack_.size() - marks_.back();
      marks_.pop_back();
      return push_tuple(count);
    }
    case op::empty_list:
      return push_kind(kind::list);
    case op::empty_dict:
      return push_kind(kind::dict);
    case op::append:
      return pop(a) && top(b) && add_to_list(b, {a});
    case op::appends:
      return pop_mark(items) && top(b) && add_to_list(b, items);
    case op::setitem: {
      std::size_t key = 0;
      return pop(a) && pop(key) && top(b) && add_to_dict(b, {key, a});
    }
    case op::setitems:
      return pop_mark(items) && top(b) && add_to_dict(b, items);
    case op::binput:
      return need(1) && memo_put(read_le(1));
    case op::long_binput:
      return need(4) && memo_put(read_le(4));
    case op::binget:
      return need(1) && memo_get(read_le(1));
    case op::long_binget:
      return need(4) && memo_get(read_le(4));
    case op::global:
      return load_global();
    case op::reduce:
      return reduce();
    default:
      if (!*opcode_name(op_)) return fail(fmt::format("unknown opcode 0x{:02x}", op_));
      return fail(fmt::format("opcode {} is not supported", describe_opcode(op_)));
  }
}

bool decoder::read_proto() {
  // Python allows PROTO anywhere; only a corrupt pickle has one later.
  if (op_offset_ != 0) return fail(fmt::format("{} after the start", describe_opcode(op_)));
  if (!need(1)) return false;
  std::uint64_t version = read_le(1);
  if (version > 5) return fail(fmt::format("unsupported pickle protocol {}", version));
  return true;
}

bool decoder::on_stop() {
  if (!marks_.empty()) return fail("STOP with a MARK still open");
  if (stack_.size() != 1) {
    return fail(fmt::format("STOP with {} objects on the stack, not 1", stack_.size()));
  }
  if (left() != 0) return fail(fmt::format("{} bytes of data after STOP", left()));
  root_ = stack_[0];
  done_ = true;
  return true;
}

bool decoder::push_float() {
  if (!need(8)) return false;
  std::uint64_t bits = 0;
  for (std::size_t k = 0; k < 8; ++k) {
    bits = (bits << 8) | static_cast<std::uint8_t>(in_[pos_ + k]);  // big-endian, unlike the rest
  }
  pos_ += 8;
  node n;
  n.k = kind::floating;
  n.i = static_cast<std::int64_t>(bits);
  return push_node(std::move(n));
}

bool decoder::push_int(std::int64_t v) {
  node n;
  n.k = kind::integer;
  n.i = v;
  return push_node(std::move(n));
}

bool decoder::push_long(std::uint64_t len) {
  if (len > lim_.max_long_bytes) {
    return fail(fmt::format("{} of {} bytes, the limit is {}", describe_opcode(op_), len,
                            lim_.max_long_bytes));
  }
  std::string_view payload;
  if (!read_payload(len, payload)) return false;
  value v = int_from_le(payload);
  node n;
  if (const auto* i = v.get<std::int64_t>()) {
    n.k = kind::integer;
    n.i = *i;
  } else {
    n.k = kind::big_integer;
    n.owned = std::move(v.get<big_int>()->le);
    n.is_owned = true;
  }
  return push_node(std::move(n));
}

bool decoder::push_text(std::uint64_t len) {
  std::size_t start = pos_;
  std::string_view payload;
  if (!read_payload(len, payload)) return false;
  // Python decodes BINUNICODE as UTF-8 with "surrogatepass".
  utf8::check_result c = utf8::check(payload, true);
  if (!c.ok) {
    return fail(fmt::format("{} is not UTF-8: bad byte 0x{:02x} at offset {}", describe_opcode(op_),
                            static_cast<std::uint8_t>(payload[c.bad_offset]),
                            start + c.bad_offset));
  }
  node n;
  n.k = kind::text;
  n.view = payload;
  n.j = static_cast<std::int64_t>(c.code_points);
  return push_node(std::move(n));
}

bool decoder::push_bytes(std::uint64_t len) {
  std::string_view payload;
  if (!read_payload(len, payload)) return false;
  node n;
  n.k = kind::bytes;
  n.view = payload;
  return push_node(std::move(n));
}

bool decoder::push_tuple(std::size_t count) {
  if (stack_.size() - floor() < count) {
    return fail(fmt::format("{} needs {} objects on the stack, {} there", describe_opcode(op_),
                            count, stack_.size() - floor()));
  }
  node n;
  n.k = kind::tuple;
  n.items.assign(stack_.end() - static_cast<std::ptrdiff_t>(count), stack_.end());
  stack_.resize(stack_.size() - count);
  for (std::size_t c : n.items) n.hashable = n.hashable && nodes_[c].hashable;
  return push_node(std::move(n));
}

bool decoder::add_to_list(std::size_t list_idx, const std::vector<std::size_t>& items) {
  node& l = nodes_[list_idx];
  if (l.k != kind::list) {
    return fail(fmt::format("{} to a {}, not a list", describe_opcode(op_), kind_name(l.k)));
  }
  l.items.insert(l.items.end(), items.begin(), items.end());
  return true;
}

bool decoder::add_to_dict(std::size_t dict_idx, const std::vector<std::size_t>& kv) {
  node& d = nodes_[dict_idx];
  if (d.k != kind::dict) {
    return fail(fmt::format("{} to a {}, not a dict", describe_opcode(op_), kind_name(d.k)));
  }
  if (kv.size() % 2)
    return fail(fmt::format("{} with an odd number of objects", describe_opcode(op_)));
  for (std::size_t k = 0; k < kv.size(); k += 2) {
    const node& key = nodes_[kv[k]];
    // Python hashes the key here and refuses a list, dict or Kwargs.
    if (!key.hashable) return fail(fmt::format("unhashable dict key of type {}", kind_name(key.k)));
  }
  d.items.insert(d.items.end(), kv.begin(), kv.end());
  return true;
}

bool decoder::memo_put(std::uint64_t key) {
  std::size_t idx = 0;
  if (!top(idx)) return false;
  auto [it, inserted] = memo_.try_emplace(key, idx);
  if (inserted) return charge_work(1);
  it->second = idx;
  return true;
}

bool decoder::memo_get(std::uint64_t key) {
  auto it = memo_.find(key);
  if (it == memo_.end()) {
    return fail(
        fmt::format("{} of memo entry {}, which was never stored", describe_opcode(op_), key));
  }
  if (!charge_work(1)) return false;
  stack_.push_back(it->second);
  return true;
}

bool decoder::load_global() {
  std::string_view lines[2];
  for (auto& line : lines) {
    std::string_view rest = in_.substr(pos_, max_global_line + 1);
    std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return fail(fmt::format("{} without a newline within {} bytes", describe_opcode(op_),
                              max_global_line));
    }
    line = rest.substr(0, nl);
    pos_ += nl + 1;
  }
  for (const global_entry& g : allowed_globals) {
    if (g.module == lines[0] && g.name == lines[1]) {
      node n;
      n.k = kind::global;
      n.i = static_cast<std::int64_t>(g.fn);
      return push_node(std::move(n));
    }
  }
  return fail(fmt::format("global {}.{} is not allowed", printable(lines[0]), printable(lines[1])));
}

bool decoder::reduce() {
  std::size_t args_idx = 0;
  std::size_t fn_idx = 0;
  if (!pop(args_idx) || !top(fn_idx)) return false;
  const node& f = nodes_[fn_idx];
  if (f.k != kind::global) {
    return fail(fmt::format("REDUCE on {}, which is not callable", kind_name(f.k)));
  }
  auto fn = static_cast<callable>(f.i);
  const node& a = nodes_[args_idx];
  if (a.k != kind::tuple) {
    return fail(fmt::format("REDUCE of {} with a {} of arguments, not a tuple", callable_name(fn),
                            kind_name(a.k)));
  }
  stack_.pop_back();  // the callable; its result takes its place
  std::vector<std::size_t> args = a.items;
  return apply(fn, args);
}

// Mitogen's checks for each callable (core.py: _unpickle_call_error,
// _unpickle_sender, _unpickle_context, Blob, Secret, Kwargs, _unpickle_bytes,
// bytes), where a Python type error becomes a refusal. Where Python would
// accept more (bytes(5), str(5), a list for Blob), we accept only what
// Mitogen's own pickler writes.
bool decoder::apply(callable fn, const std::vector<std::size_t>& args) {
  auto arg = [&](std::size_t k) -> const node& { return nodes_[args[k]]; };
  node n;
  switch (fn) {
    case callable::call_error:
      // type(s) is str: a Secret is refused too.
      if (args.size() != 1 || arg(0).k != kind::text) return bad_args(fn, args, "str");
      if (static_cast<std::size_t>(arg(0).j) >= max_call_error_chars) {
        return fail(fmt::format("{}: text of {} characters, the limit is {}", callable_name(fn),
                                arg(0).j, max_call_error_chars - 1));
      }
      n.k = kind::call_error;
      n.items = {args[0]};
      break;
    case callable::sender:
      if (args.size() != 2 || arg(0).k != kind::integer || arg(1).k != kind::integer) {
        return bad_args(fn, args, "int, int");
      }
      if (arg(0).i < 0 || arg(1).i <= 0) {
        return fail(fmt::format("{}({}, {}): needs context_id >= 0 and dst_handle > 0",
                                callable_name(fn), arg(0).i, arg(1).i));
      }
      n.k = kind::sender;
      n.i = arg(0).i;
      n.j = arg(1).i;
      break;
    case callable::context:
      if (!apply_context(args, n)) return false;
      break;
    case callable::blob:
      if (args.size() != 1 || (arg(0).k != kind::bytes && arg(0).k != kind::blob))
        return bad_args(fn, args, "bytes");
      n.k = kind::blob;
      n.items = {arg(0).k == kind::bytes ? args[0] : arg(0).items[0]};
      break;
    case callable::secret:
      if (args.size() != 1 || (arg(0).k != kind::text && arg(0).k != kind::secret))
        return bad_args(fn, args, "str");
      n.k = kind::secret;
      n.items = {arg(0).k == kind::text ? args[0] : arg(0).items[0]};
      break;
    case callable::kwargs:
      if (!apply_kwargs(args, n)) return false;
      break;
    case callable::codecs_encode:
      if (!apply_codecs_encode(args, n)) return false;
      break;
    case callable::builtin_bytes:
      if (!args.empty()) return bad_args(fn, args, "");
      n.k = kind::bytes;
      break;
  }
  return push_node(std::move(n));
}

// A call of fn with arguments of the wrong types: names them all.
bool decoder::bad_args(callable fn, const std::vector<std::size_t>& args, const char* expected) {
  std::string types;
  for (std::size_t k = 0; k < args.size(); ++k) {
    if (k) types += ", ";
    types += kind_name(nodes_[args[k]].k);
  }
  return fail(fmt::format("{}({}): expected ({})", callable_name(fn), types, expected));
}

bool decoder::apply_context(const std::vector<std::size_t>& args, node& n) {
  constexpr callable fn = callable::context;
  auto arg = [&](std::size_t k) -> const node& { return nodes_[args[k]]; };
  if (args.size() != 2 || arg(0).k != kind::integer ||
      (arg(1).k != kind::none && arg(1).k != kind::text && arg(1).k != kind::secret)) {
    return bad_args(fn, args, "int, str or None");
  }
  if (arg(0).i < 0) {
    return fail(fmt::format("{}: context_id {} is negative", callable_name(fn), arg(0).i));
  }
  n.k = kind::context;
  n.i = arg(0).i;
  if (arg(1).k != kind::none) {
    const node& name = arg(1).k == kind::secret ? nodes_[arg(1).items[0]] : arg(1);
    if (static_cast<std::size_t>(name.j) >= max_context_name_chars) {
      return fail(fmt::format("{}: name of {} characters, the limit is {}", callable_name(fn),
                              name.j, max_context_name_chars - 1));
    }
    // Context.__init__ keeps a name only if it is not empty.
    n.has_name = name.j > 0;
    n.view = name.view;  // text nodes always point into the input
  }
  return true;
}

bool decoder::apply_kwargs(const std::vector<std::size_t>& args, node& n) {
  constexpr callable fn = callable::kwargs;
  if (args.size() != 1 || (nodes_[args[0]].k != kind::dict && nodes_[args[0]].k != kind::kwargs))
    return bad_args(fn, args, "dict");
  // Kwargs copies the dict's items now, as Python's constructor does.
  n.k = kind::kwargs;
  n.hashable = false;
  n.items = nodes_[args[0]].items;
  if (!charge_work(n.items.size())) return false;
  for (std::size_t k = 0; k < n.items.size(); k += 2) {
    const node& key = nodes_[n.items[k]];
    if (key.k != kind::bytes) continue;
    // k.decode(): strict UTF-8, no surrogates.
    utf8::check_result c = utf8::check(key.str(), false);
    if (!c.ok) {
      return fail(fmt::format("{}: bytes key b'{}' (at offset {}) is not UTF-8", callable_name(fn),
                              printable(key.str()), key.offset));
    }
  }
  return true;
}

// _codecs.encode(text, 'latin1'): the bytes Python 3 pickles at protocol 2.
bool decoder::apply_codecs_encode(const std::vector<std::size_t>& args, node& n) {
  constexpr callable fn = callable::codecs_encode;
  auto arg = [&](std::size_t k) -> const node& { return nodes_[args[k]]; };
  if (args.size() != 2 || arg(0).k != kind::text || arg(1).k != kind::text) {
    return bad_args(fn, args, "str, 'latin1'");
  }
  // Mitogen ignores the encoding argument; Python's pickler always
  // writes 'latin1', and anything else means a pickle not from it.
  if (arg(1).str() != "latin1") {
    return fail(fmt::format("{}: encoding '{}', only 'latin1' is allowed", callable_name(fn),
                            printable(arg(1).str())));
  }
  std::string_view s = arg(0).str();
  converted_bytes_ += static_cast<std::size_t>(arg(0).j);
  if (converted_bytes_ > lim_.max_bytes) {
    return fail(fmt::format("{}: more than {} bytes converted", callable_name(fn), lim_.max_bytes));
  }
  n.k = kind::bytes;
  n.is_owned = true;
  // push_text checked the text and counted its code points.
  if (latin1::append_from_utf8(n.owned, s, static_cast<std::size_t>(arg(0).j))) return true;
  // Some character is not latin-1: find it, for the error.
  std::size_t chars = 0;
  for (std::size_t pos = 0; pos < s.size(); ++chars) {
    // ASCII stands for itself in both, so runs of it are copied whole.
    std::size_t ascii = utf8::ascii_end(s, pos);
    n.owned.append(s.substr(pos, ascii - pos));
    chars += ascii - pos;
    pos = ascii;
    if (pos == s.size()) break;
    char32_t cp = 0;
    pos += utf8::decode(s, pos, cp, true);
    if (cp > 0xff) {
      return fail(fmt::format("{}: character {} is U+{:04X}, not latin-1", callable_name(fn), chars,
                              static_cast<std::uint32_t>(cp)));
    }
    n.owned.push_back(static_cast<char>(cp));
  }
  return true;
}

// Python dict insertion: an equal key keeps its first position and takes the
// new value.
std::size_t hash_value(const value& v);

std::size_t mix(std::size_t h, std::size_t x) {
  return h ^ (x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

std::size_t hash_value(const value& v) {
  std::size_t h = v.data.index();
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        auto str = [](std::string_view s) { return std::hash<std::string_view>{}(s); };
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t>) {
          h = mix(h, static_cast<std::size_t>(x));
        } else if constexpr (std::is_same_v<T, double>) {
          h = mix(h, std::bit_cast<std::uint64_t>(x));
        } else if constexpr (std::is_same_v<T, big_int>) {
          h = mix(h, str(x.le));
        } else if constexpr (std::is_same_v<T, text> || std::is_same_v<T, secret>) {
          h = mix(h, str(x.utf8));
        } else if constexpr (std::is_same_v<T, bytes> || std::is_same_v<T, blob>) {
          h = mix(h, str(x.data));
        } else if constexpr (std::is_same_v<T, call_error>) {
          h = mix(h, str(x.message));
        } else if constexpr (std::is_same_v<T, tuple> || std::is_same_v<T, list>) {
          for (const value& i : x.items) h = mix(h, hash_value(i));
        } else if constexpr (std::is_same_v<T, dict> || std::is_same_v<T, kwargs>) {
          for (const auto& [k, i] : x.items) h = mix(mix(h, hash_value(k)), hash_value(i));
        } else if constexpr (std::is_same_v<T, context_ref>) {
          h = mix(mix(h, static_cast<std::size_t>(x.id)), x.name ? str(*x.name) : 0);
        } else if constexpr (std::is_same_v<T, sender_ref>) {
          h = mix(mix(h, static_cast<std::size_t>(x.context_id)),
                  static_cast<std::size_t>(x.handle));
        }
      },
      v.data);
  return h;
}

class pair_merger {
 public:
  explicit pair_merger(pairs& out) : out_(out) {}

  void put(value k, value v) {
    std::size_t h = hash_value(k);
    auto [first, last] = index_.equal_range(h);
    for (auto it = first; it != last; ++it) {
      if (out_[it->second].first == k) {
        out_[it->second].second = std::move(v);
        return;
      }
    }
    index_.emplace(h, out_.size());
    out_.emplace_back(std::move(k), std::move(v));
  }

 private:
  pairs& out_;
  std::unordered_multimap<std::size_t, std::size_t> index_;
};

bool decoder::charge_output(const node& n, std::size_t items, std::size_t bytes) {
  out_items_ += items;
  out_bytes_ += bytes;
  if (out_items_ > lim_.max_items) {
    return fail_at(n.offset, fmt::format("decoded value has more than {} items (memo references "
                                         "are copied)",
                                         lim_.max_items));
  }
  if (out_bytes_ > lim_.max_bytes) {
    return fail_at(n.offset, fmt::format("decoded value has more than {} bytes of strings (memo "
                                         "references are copied)",
                                         lim_.max_bytes));
  }
  return true;
}

bool decoder::materialize_pairs(const node& n, std::size_t depth, pairs& out) {
  pair_merger merge(out);
  for (std::size_t k = 0; k + 1 < n.items.size(); k += 2) {
    value key;
    value v;
    if (!materialize(n.items[k], depth, key) || !materialize(n.items[k + 1], depth, v))
      return false;
    merge.put(std::move(key), std::move(v));
  }
  return true;
}

bool decoder::materialize(std::size_t idx, std::size_t depth, value& out) {
  const node& n = nodes_[idx];
  auto leaf_string = [&](const node& s) { return charge_output(n, 1, s.str().size()); };
  switch (n.k) {
    case kind::none:
      out = none;
      return charge_output(n, 1, 0);
    case kind::boolean:
      out = n.i != 0;
      return charge_output(n, 1, 0);
    case kind::integer:
      out = n.i;
      return charge_output(n, 1, 0);
    case kind::big_integer:
      out = big_int{std::string(n.str())};
      return charge_output(n, 1, 0);
    case kind::floating:
      out = std::bit_cast<double>(n.i);
      return charge_output(n, 1, 0);
    case kind::text:
      if (!leaf_string(n)) return false;
      out = text{std::string(n.str())};
      return true;
    case kind::bytes:
      if (!leaf_string(n)) return false;
      out = bytes{std::string(n.str())};
      return true;
    case kind::tuple:
    case kind::list:
    case kind::dict:
    case kind::kwargs:
      return materialize_container(n, depth, out);
    case kind::call_error:
      if (!leaf_string(nodes_[n.items[0]])) return false;
      out = call_error{std::string(nodes_[n.items[0]].str())};
      return true;
    case kind::blob:
      if (!leaf_string(nodes_[n.items[0]])) return false;
      out = blob{std::string(nodes_[n.items[0]].str())};
      return true;
    case kind::secret:
      if (!leaf_string(nodes_[n.items[0]])) return false;
      out = secret{std::string(nodes_[n.items[0]].str())};
      return true;
    case kind::context: {
      if (!charge_output(n, 1, n.view.size())) return false;
      context_ref c{n.i, std::nullopt};
      if (n.has_name) c.name = std::string(n.view);
      out = std::move(c);
      return true;
    }
    case kind::sender:
      out = sender_ref{n.i, n.j};
      return charge_output(n, 1, 0);
    case kind::global:
      return fail_at(n.offset, fmt::format("global {} used as a value; it may only be called",
                                           callable_name(static_cast<callable>(n.i))));
  }
  return fail_at(n.offset, "internal error: unknown node");
}

// A tuple, list, dict or Kwargs node, its items one level deeper.
bool decoder::materialize_container(const node& n, std::size_t depth, value& out) {
  if (depth >= lim_.max_depth) {
    return fail_at(n.offset, fmt::format("containers nested deeper than {} (or one that contains "
                                         "itself)",
                                         lim_.max_depth));
  }
  if (!charge_output(n, 1, 0)) return false;
  if (n.k == kind::kwargs) return materialize_kwargs(n, depth, out);
  if (n.k == kind::dict) {
    pairs items;
    if (!materialize_pairs(n, depth + 1, items)) return false;
    out = dict{std::move(items)};
    return true;
  }
  std::vector<value> items(n.items.size());
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (!materialize(n.items[k], depth + 1, items[k])) return false;
  }
  if (n.k == kind::tuple) {
    out = tuple{std::move(items)};
  } else {
    out = list{std::move(items)};
  }
  return true;
}

// As Python: first the dict's own merging of equal keys, then
// Kwargs.__init__ decoding bytes keys, which may merge again.
bool decoder::materialize_kwargs(const node& n, std::size_t depth, value& out) {
  pairs raw;
  if (!materialize_pairs(n, depth + 1, raw)) return false;
  pairs decoded;
  pair_merger merge(decoded);
  for (auto& [k, v] : raw) {
    if (bytes* b = k.get<bytes>()) {
      text t{std::move(b->data)};
      k = std::move(t);
    }
    merge.put(std::move(k), std::move(v));
  }
  out = kwargs{std::move(decoded)};
  return true;
}

// Writes Python 3's protocol 2 encoding of a value, without memo opcodes.
class encoder {
 public:
  explicit encoder(const limits& lim) : lim_(lim) { out_ = "\x80\x02"; }

  bool put(const value& v, std::size_t depth);
  std::string take() {
    out_.push_back(static_cast<char>(op::stop));
    return std::move(out_);
  }
  const std::string& error() const { return error_; }

 private:
  bool fail(const std::string& msg) {
    if (error_.empty()) error_ = "pickle encode: " + msg;
    return false;
  }
  void code(std::uint8_t c) { out_.push_back(static_cast<char>(c)); }
  void le(std::uint64_t v, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) out_.push_back(static_cast<char>(v >> (8 * k)));
  }
  void global(std::string_view module, std::string_view name) {
    code(op::global);
    out_.append(module);
    out_.push_back('\n');
    out_.append(name);
    out_.push_back('\n');
  }
  void put_int(std::int64_t v);
  bool put_big(const big_int& v);
  bool put_text(std::string_view s, const char* what, std::size_t max_chars = 0);
  void put_bytes(std::string_view s);
  bool put_items(const std::vector<value>& items, std::size_t depth, std::uint8_t one,
                 std::uint8_t many);
  bool put_pairs(const pairs& items, std::size_t depth, bool is_kwargs);
  bool put_tuple(const std::vector<value>& items, std::size_t depth);
  bool put_mitogen(const value& v);
  void call1() {
    code(op::tuple1);
    code(op::reduce);
  }
  bool container(std::size_t depth) {
    if (depth < lim_.max_depth) return true;
    return fail(fmt::format("containers nested deeper than {}", lim_.max_depth));
  }

  limits lim_;
  std::string out_;
  std::string error_;
};

// Python's save_long: the smallest of BININT1, BININT2, BININT, else LONG1.
void encoder::put_int(std::int64_t v) {
  if (v >= 0 && v <= 0xff) {
    code(op::binint1);
    le(static_cast<std::uint64_t>(v), 1);
  } else if (v >= 0 && v <= 0xffff) {
    code(op::binint2);
    le(static_cast<std::uint64_t>(v), 2);
  } else if (v >= -0x80000000LL && v <= 0x7fffffffLL) {
    code(op::binint);
    le(static_cast<std::uint64_t>(v), 4);
  } else {
    std::string b = int_to_le(v);
    code(op::long1);
    le(b.size(), 1);
    out_ += b;
  }
}

bool encoder::put_big(const big_int& v) {
  value norm = int_from_le(v.le);
  if (const auto* i = norm.get<std::int64_t>()) {
    put_int(*i);
    return true;
  }
  const std::string& b = norm.get<big_int>()->le;
  if (b.size() > lim_.max_long_bytes) {
    return fail(fmt::format("int of {} bytes, the limit is {}", b.size(), lim_.max_long_bytes));
  }
  if (b.size() < 256) {
    code(op::long1);
    le(b.size(), 1);
  } else {
    code(op::long4);
    le(b.size(), 4);
  }
  out_ += b;
  return true;
}

bool encoder::put_text(std::string_view s, const char* what, std::size_t max_chars) {
  utf8::check_result c = utf8::check(s, true);
  if (!c.ok) return fail(fmt::format("{} is not UTF-8 (bad byte at {})", what, c.bad_offset));
  if (max_chars && c.code_points >= max_chars) {
    return fail(fmt::format("{} of {} characters, Mitogen's limit is {}", what, c.code_points,
                            max_chars - 1));
  }
  if (s.size() > 0xffffffffu) return fail(fmt::format("{} over 4 GiB", what));
  code(op::binunicode);
  le(s.size(), 4);
  out_.append(s);
  return true;
}

// Python 3 writes bytes at protocol 2 as _codecs.encode(text, 'latin1'),
// the text holding one code point per byte; b'' as __builtin__.bytes().
void encoder::put_bytes(std::string_view s) {
  if (s.empty()) {
    global("__builtin__", "bytes");
    code(op::empty_tuple);
    code(op::reduce);
    return;
  }
  const std::size_t size = latin1::utf8_size(s);
  global("_codecs", "encode");
  code(op::binunicode);
  le(size, 4);
  // Written in place; to_utf8 needs a byte of room past its end.
  const std::size_t at = out_.size();
  out_.resize(at + size + 1);
  latin1::to_utf8(s, out_.data() + at);
  out_.resize(at + size);
  code(op::binunicode);
  le(6, 4);
  out_ += "latin1";
  code(op::tuple2);
  code(op::reduce);
}

// Python's batch_list_exact / batch_dict_exact (the C pickler): one item
// alone with the single-item opcode, else batches of 1000 between MARK and
// the many-items opcode, a last batch of one included.
bool encoder::put_items(const std::vector<value>& items, std::size_t depth, std::uint8_t one,
                        std::uint8_t many) {
  if (items.size() == 1) {
    if (!put(items[0], depth)) return false;
    code(one);
    return true;
  }
  constexpr std::size_t batch = 1000;
  for (std::size_t start = 0; start < items.size(); start += batch) {
    code(op::mark);
    for (std::size_t k = start; k < std::min(start + batch, items.size()); ++k) {
      if (!put(items[k], depth)) return false;
    }
    code(many);
  }
  return true;
}

bool hashable(const value& v) {
  if (v.is<list>() || v.is<dict>() || v.is<kwargs>()) return false;
  if (const auto* t = v.get<tuple>()) {
    return std::all_of(t->items.begin(), t->items.end(),
                       [](const value& i) { return hashable(i); });
  }
  return true;
}

bool encoder::put_pairs(const pairs& items, std::size_t depth, bool is_kwargs) {
  constexpr std::size_t batch = 1000;
  code(op::empty_dict);
  for (std::size_t start = 0; start < items.size(); start += batch) {
    bool alone = items.size() == 1;
    if (!alone) code(op::mark);
    for (std::size_t k = start; k < std::min(start + batch, items.size()); ++k) {
      const auto& [key, v] = items[k];
      const auto* b = key.get<bytes>();
      if (is_kwargs && b) {
        // What Kwargs.__init__ would make of it on the other side.
        if (!utf8::check(b->data, false).ok) return fail("Kwargs bytes key is not UTF-8");
        if (!put_text(b->data, "Kwargs key")) return false;
      } else if (!put(key, depth)) {
        return false;
      }
      // After put(): its depth check bounds this recursion.
      if (!hashable(key))
        return fail(fmt::format("unhashable dict key of type {}", key.type_name()));
      if (!put(v, depth)) return false;
    }
    code(alone ? op::setitem : op::setitems);
  }
  return true;
}

bool encoder::put(const value& v, std::size_t depth) {
  switch (v.kind()) {
    case value::kind_t::none:
      code(op::none);
      return true;
    case value::kind_t::boolean:
      code(*v.get<bool>() ? op::newtrue : op::newfalse);
      return true;
    case value::kind_t::integer:
      put_int(*v.get<std::int64_t>());
      return true;
    case value::kind_t::big_integer:
      return put_big(*v.get<big_int>());
    case value::kind_t::floating: {
      auto bits = std::bit_cast<std::uint64_t>(*v.get<double>());
      code(op::binfloat);
      for (int k = 7; k >= 0; --k) out_.push_back(static_cast<char>(bits >> (8 * k)));
      return true;
    }
    case value::kind_t::text:
      return put_text(v.get<text>()->utf8, "str");
    case value::kind_t::bytes:
      put_bytes(v.get<bytes>()->data);
      return true;
    case value::kind_t::tuple:
      return container(depth) && put_tuple(v.get<tuple>()->items, depth + 1);
    case value::kind_t::list:
      if (!container(depth)) return false;
      code(op::empty_list);
      return put_items(v.get<list>()->items, depth + 1, op::append, op::appends);
    case value::kind_t::dict:
      if (!container(depth)) return false;
      return put_pairs(v.get<dict>()->items, depth + 1, false);
    case value::kind_t::kwargs:
      if (!container(depth)) return false;
      global("mitogen.core", "Kwargs");
      if (!put_pairs(v.get<kwargs>()->items, depth + 1, true)) return false;
      call1();
      return true;
    case value::kind_t::call_error:
    case value::kind_t::blob:
    case value::kind_t::secret:
    case value::kind_t::context:
    case value::kind_t::sender:
      return put_mitogen(v);
  }
  return fail("internal error: unknown value");
}

bool encoder::put_tuple(const std::vector<value>& items, std::size_t depth) {
  if (items.empty()) {
    code(op::empty_tuple);
    return true;
  }
  if (items.size() > 3) code(op::mark);
  for (const value& i : items) {
    if (!put(i, depth)) return false;
  }
  static constexpr std::uint8_t small[] = {0, op::tuple1, op::tuple2, op::tuple3};
  code(items.size() > 3 ? op::tuple : small[items.size()]);
  return true;
}

// The mitogen.core objects: a call of the global that rebuilds each.
bool encoder::put_mitogen(const value& v) {
  switch (v.kind()) {
    case value::kind_t::call_error:
      global("mitogen.core", "_unpickle_call_error");
      if (!put_text(v.get<call_error>()->message, "CallError text", max_call_error_chars)) {
        return false;
      }
      call1();
      return true;
    case value::kind_t::blob:
      global("mitogen.core", "Blob");
      put_bytes(v.get<blob>()->data);
      call1();
      return true;
    case value::kind_t::secret:
      global("mitogen.core", "Secret");
      if (!put_text(v.get<secret>()->utf8, "Secret")) return false;
      call1();
      return true;
    case value::kind_t::context: {
      const auto& c = *v.get<context_ref>();
      if (c.id < 0) return fail(fmt::format("Context id {} is negative", c.id));
      global("mitogen.core", "_unpickle_context");
      put_int(c.id);
      // Mitogen's Context drops an empty name, so it pickles as None.
      if (c.name && !c.name->empty()) {
        if (!put_text(*c.name, "Context name", max_context_name_chars)) return false;
      } else {
        code(op::none);
      }
      code(op::tuple2);
      code(op::reduce);
      return true;
    }
    case value::kind_t::sender: {
      const auto& s = *v.get<sender_ref>();
      if (s.context_id < 0 || s.handle <= 0) {
        return fail(fmt::format("Sender({}, {}) needs context_id >= 0 and handle > 0", s.context_id,
                                s.handle));
      }
      global("mitogen.core", "_unpickle_sender");
      put_int(s.context_id);
      put_int(s.handle);
      code(op::tuple2);
      code(op::reduce);
      return true;
    }
    default:
      return fail("internal error: not a mitogen.core object");
  }
}

}  // namespace

const char* opcode_name(std::uint8_t code) {
  for (const opcode_entry& e : opcode_table) {
    if (e.code == code) return e.name;
  }
  return "";
}

result<value> decode(std::string_view pickle, const limits& lim) {
  return decoder(pickle, lim).run();
}

result<std::string> encode(const value& v, const limits& lim) {
  encoder e(lim);
  if (!e.put(v, 0)) return {boost::system::in_place_error, e.error()};
  return {boost::system::in_place_value, e.take()};
}

}  // namespace faultmux::pickle
