// The pickle codec against Python's own: vectors written at test time by
// pickle.dumps(v, protocol=2) and hand-made ones, read back by Mitogen
// 0.3.3's unpickler (tests/pickle/vectors.py); our decoding of each must
// equal the C++ value expected and Mitogen's reading of it, and Mitogen must
// read our encoding of each as we do. Then every refusal, with the opcode or
// global it must name, and whether Mitogen refuses it as well.
#include "mux/pickle.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <numbers>
#include <set>
#include <string>
#include <vector>

#include "mux/latin1.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::pickle {

void PrintTo(const value& v, std::ostream* os) {
  std::string s = to_string(v);
  *os << (s.size() > 400 ? s.substr(0, 400) + "..." : s);
}

namespace {

using namespace std::string_literals;

std::string unhex(std::string_view h) {
  std::string out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(h[i]) * 16 + nibble(h[i + 1])));
  }
  return out;
}

std::string hex(std::string_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (char c : b) {
    out.push_back(digits[static_cast<std::uint8_t>(c) >> 4]);
    out.push_back(digits[static_cast<std::uint8_t>(c) & 15]);
  }
  return out;
}

std::string script() {
  return std::string(FAULTMUX_SOURCE_DIR) + "/tests/pickle/vectors.py";
}

// Output of a shell command; timeout(1) bounds it.
std::string run(const std::string& cmd) {
  std::string full = "timeout 120 " + cmd;
  FILE* f = ::popen(full.c_str(), "r");
  EXPECT_NE(f, nullptr) << full;
  if (!f) return {};
  std::string out;
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = ::pclose(f);
  EXPECT_EQ(status, 0) << full;
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

struct python_vector {
  std::string pickle;
  std::optional<std::string> stripped;  // without memo opcodes, when it reads no memo
  std::string mitogen;                  // Mitogen's reading: to_string format or "ERROR: ..."
};

// One run of `vectors.py dump` for the whole binary.
const std::map<std::string, python_vector>& python_vectors() {
  static const std::map<std::string, python_vector> vectors = [] {
    std::map<std::string, python_vector> m;
    for (const std::string& line : split(run("/usr/bin/python3 " + script() + " dump"), '\n')) {
      if (line.empty()) continue;
      std::vector<std::string> f = split(line, '\t');
      EXPECT_EQ(f.size(), 4u) << line.substr(0, 200);
      if (f.size() != 4) continue;
      python_vector v{unhex(f[1]), std::nullopt, f[3]};
      if (f[2] != "-") v.stripped = unhex(f[2]);
      m.emplace(f[0], std::move(v));
    }
    return m;
  }();
  return vectors;
}

// Mitogen's reading of each pickle, by `vectors.py load`.
std::map<std::string, std::string> mitogen_reads(
    const std::vector<std::pair<std::string, std::string>>& named) {
  test::run_dir dir;
  std::string input = dir.file("in.txt");
  {
    std::ofstream out(input);
    for (const auto& [name, data] : named) out << name << '\t' << hex(data) << '\n';
  }
  std::map<std::string, std::string> m;
  for (const std::string& line :
       split(run("/usr/bin/python3 " + script() + " load < " + input), '\n')) {
    if (line.empty()) continue;
    std::vector<std::string> f = split(line, '\t');
    if (f.size() == 2) m[f[0]] = f[1];
  }
  return m;
}

value le_int(std::string_view h) {
  return int_from_le(unhex(h));
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

list int_list(int n) {
  list l;
  for (int i = 0; i < n; ++i) l.items.emplace_back(i);
  return l;
}

struct named_value {
  std::string name;
  value v;
};

// The C++ side of vectors.py's CASES and its accepted RAW vectors, by name.
std::vector<named_value> expected_values() {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  dict d1001;
  for (int i = 0; i < 1001; ++i) d1001.items.emplace_back(i, text{std::to_string(i)});
  const double inf = std::numeric_limits<double>::infinity();
  return {
      {"none", none},
      {"true", true},
      {"false", false},
      {"int_0", 0},
      {"int_1", 1},
      {"int_255", 255},
      {"int_256", 256},
      {"int_65535", 65535},
      {"int_65536", 65536},
      {"int_m1", -1},
      {"int_m256", -256},
      {"int_i32_min", -2147483648LL},
      {"int_i32_max", 2147483647},
      {"int_2p31", 2147483648LL},
      {"int_m2p31m1", -2147483649LL},
      {"int_i64_max", std::numeric_limits<std::int64_t>::max()},
      {"int_i64_min", std::numeric_limits<std::int64_t>::min()},
      {"int_2p63", le_int("000000000000008000")},
      {"int_m2p63m1", le_int("ffffffffffffff7fff")},
      {"int_2p64", le_int("000000000000000001")},
      {"int_m2p64", le_int("0000000000000000ff")},
      {"int_long4", int_from_le(std::string(255, '\0') + "\x01")},
      {"int_long4_neg", int_from_le(std::string(262, '\0') + "\xf0")},
      {"float_0", 0.0},
      {"float_m0", -0.0},
      {"float_1_5", 1.5},
      {"float_pi", std::numbers::pi},
      {"float_big", 1e300},
      {"float_tiny", std::numeric_limits<double>::denorm_min()},
      {"float_inf", inf},
      {"float_minf", -inf},
      {"float_nan", std::numeric_limits<double>::quiet_NaN()},
      {"str_empty", ""},
      {"str_ascii", "hello"},
      {"str_latin", "héllo wörld"},
      {"str_cjk", "日本語"},
      {"str_emoji", "\U0001F600"},
      {"str_surrogate", text{"\xed\xa0\x80x"}},  // surrogatepass: U+D800 then 'x'
      {"str_controls", text{std::string("a\0b\n\"\\\x7f", 7)}},
      {"str_300", text{std::string(300, 'x')}},
      {"str_70000", text{repeat("ab", 35000)}},
      {"bytes_empty", bytes{""}},
      {"bytes_abc", bytes{"abc"}},
      {"bytes_all", bytes{all_bytes}},
      {"bytes_zeros", bytes{std::string(1000, '\0')}},
      {"bytes_pair", tuple{{bytes{"a"}, bytes{"b"}}}},
      {"tuple_0", tuple{}},
      {"tuple_1", tuple{{1}}},
      {"tuple_2", tuple{{1, "a"}}},
      {"tuple_3", tuple{{1, 2, 3}}},
      {"tuple_4", tuple{{1, 2, 3, 4}}},
      {"tuple_nested", tuple{{tuple{{1, tuple{{2, tuple{{3}}}}}}, list{}, dict{}}}},
      {"list_0", list{}},
      {"list_1", list{{none}}},
      {"list_mixed", list{{1, "a", bytes{"b"}, 2.5, none, true}}},
      {"list_1000", int_list(1000)},
      {"list_1001", int_list(1001)},
      {"list_2500", int_list(2500)},
      {"dict_0", dict{}},
      {"dict_1", dict{{{"a", 1}}}},
      {"dict_mixed", dict{{{1, "one"},
                           {"two", list{{2}}},
                           {none, tuple{}},
                           {tuple{{1, "x"}}, bytes{"y"}},
                           {bytes{"k"}, 2.0},
                           {1.5, false}}}},
      {"dict_1001", d1001},
      {"shared_list", tuple{{list{{1, 2}}, list{{1, 2}}}}},
      {"shared_str", list{{"shared", "shared", "shared"}}},
      {"kwargs_empty", kwargs{}},
      {"kwargs", kwargs{{{"a", 1}, {"b", bytes{"x"}}, {"c", list{{1, dict{{{"d", none}}}}}}}}},
      {"call_error", call_error{"boom"}},
      {"call_error_empty", call_error{""}},
      {"call_error_text", call_error{"ошибка\n  File \"x\", line 1"}},
      {"call_error_9999", call_error{std::string(9999, 'e')}},
      {"blob_empty", blob{""}},
      {"blob", blob{std::string("\x00\xff"
                                "data",
                                6)}},
      {"secret_empty", secret{""}},
      {"secret", secret{"pässword"}},
      {"context_none", context_ref{0, std::nullopt}},
      {"context", context_ref{5, "local.5"}},
      {"context_u32", context_ref{4294967295LL, std::string(99, 'n')}},
      {"sender", sender_ref{3, 1001}},
      {"sender_max", sender_ref{0, 2147483647}},
      {"mixed_all", list{{kwargs{{{"k", blob{"x"}}}}, call_error{"e"}, blob{""}, secret{"s"},
                          context_ref{7, "c"}, sender_ref{7, 9}, bytes{"latin"}, bytes{"again"}}}},
      // CallChain.make_msg's 6-tuple: (chain_id, module, class, function,
      // args, Kwargs).
      {"call_function", tuple{{none, "posixpath", none, "join", tuple{{"a", bytes{"b"}, 3}},
                               kwargs{{{"key", "v"}, {"n", none}}}}}},
      {"call_function_chain", tuple{{"host-1234-7f-5f3e", "mitogen.core", "Message", "dead",
                                     tuple{{"reason"}}, kwargs{}}}},
      // A Python 2 peer: its str is bytes, but not as a Kwargs key.
      {"py2_kwargs", kwargs{{{"key", 1}, {"key2", bytes{"a"}}}}},
      {"py2_call",
       tuple{{none, "os", none, "getcwd", tuple{{bytes{"abc"}}}, kwargs{{{"key", bytes{"val"}}}}}}},
      {"py2_long", 5},
      {"long1_not_minimal", 5},
      {"long1_empty", 0},
      {"binbytes", tuple{{bytes{"abc"}, bytes{"de"}}}},
      {"short_binunicode", "hi"},
      {"long_memo", tuple{{list{{7}}, list{{7}}}}},
      {"dict_duplicate_keys", dict{{{1, "c"}, {2, none}}}},
      {"kwargs_merged_keys", kwargs{{{"a", 2}}}},
      {"kwargs_of_kwargs", kwargs{{{"k", 1}}}},
      {"context_empty_name", context_ref{2, std::nullopt}},
      {"context_secret_name", context_ref{2, "nm"}},
      {"call_error_global", call_error{"via CallError"}},
      {"blob_of_blob", blob{"z"}},
  };
}

struct refusal {
  const char* name;
  const char* needle;    // in our error text
  bool mitogen_refuses;  // false: we are stricter than Mitogen 0.3.3
};

// vectors.py's refuse_* vectors.
const std::vector<refusal>& refusals() {
  static const std::vector<refusal> r = {
      {"refuse_os_system", "pickle offset 2: global os.system is not allowed", true},
      {"refuse_builtins_eval", "global builtins.eval is not allowed", true},
      {"refuse_bytearray", "global __builtin__.bytearray is not allowed", true},
      {"refuse_stack_global", "opcode STACK_GLOBAL (0x93) is not supported", true},
      {"refuse_unknown_opcode", "pickle offset 2: unknown opcode 0xff", true},
      {"refuse_pop", "opcode POP (0x30 '0') is not supported", false},
      {"refuse_codecs_not_latin1", "_codecs.encode: character 0 is U+0100, not latin-1", true},
      {"refuse_codecs_utf8", "_codecs.encode: encoding 'utf8', only 'latin1'", false},
      {"refuse_codecs_one_arg", "_codecs.encode(str): expected (str, 'latin1')", true},
      {"refuse_depth_bomb", "containers nested deeper than 100", false},
      {"refuse_length_bomb", "BINUNICODE (0x58 'X') length 4294967295 exceeds the 4 bytes left",
       true},
      {"refuse_binstring_negative", "BINSTRING (0x54 'T') with negative length -1", true},
      {"refuse_long4_huge", "LONG4 (0x8b) of 2000 bytes, the limit is 1024", false},
      {"refuse_reduce_int", "REDUCE on int, which is not callable", true},
      {"refuse_reduce_list_args", "REDUCE of mitogen.core.Secret with a list of arguments", true},
      {"refuse_blob_int", "mitogen.core.Blob(int): expected (bytes)", false},
      {"refuse_bytes_with_arg", "__builtin__.bytes(int): expected ()", false},
      {"refuse_call_error_long", "_unpickle_call_error: text of 10000 characters", true},
      {"refuse_call_error_bytes", "_unpickle_call_error(bytes): expected (str)", true},
      {"refuse_call_error_secret", "_unpickle_call_error(Secret): expected (str)", true},
      {"refuse_context_negative", "_unpickle_context: context_id -1 is negative", true},
      {"refuse_context_long_name", "_unpickle_context: name of 100 characters", true},
      {"refuse_sender_zero_handle", "_unpickle_sender(1, 0): needs", true},
      {"refuse_sender_bool", "_unpickle_sender(bool, int): expected (int, int)", false},
      {"refuse_global_as_value", "global mitogen.core.Blob used as a value", false},
      {"refuse_truncated", "BINUNICODE (0x58 'X') length 5 exceeds the 2 bytes left", true},
      {"refuse_no_stop", "pickle offset 3: end of input before STOP", true},
      {"refuse_trailing", "1 bytes of data after STOP", false},
      {"refuse_memo_missing", "BINGET (0x68 'h') of memo entry 5, which was never stored", true},
      {"refuse_unhashable_key", "unhashable dict key of type list", true},
      {"refuse_recursive_list", "containers nested deeper than 100", false},
      {"refuse_append_to_dict", "APPEND (0x61 'a') to a dict, not a list", true},
      {"refuse_setitems_odd", "SETITEMS (0x75 'u') with an odd number of objects", true},
      {"refuse_stack_underflow", "APPEND (0x61 'a') with nothing on the stack", true},
      {"refuse_proto_6", "unsupported pickle protocol 6", true},
      {"refuse_proto_late", "PROTO (0x80) after the start", false},
      {"refuse_kwargs_bad_utf8_key", "mitogen.core.Kwargs: bytes key b'\\xff'", true},
      {"refuse_bad_utf8_text", "BINUNICODE (0x58 'X') is not UTF-8: bad byte 0xc3 at offset 7",
       true},
      {"refuse_two_objects", "STOP with 2 objects on the stack, not 1", false},
      {"refuse_open_mark", "STOP with a MARK still open", false},
  };
  return r;
}

const python_vector* find_vector(const std::string& name) {
  auto it = python_vectors().find(name);
  return it == python_vectors().end() ? nullptr : &it->second;
}

TEST(PickleVectors, TablesCoverEveryPythonVector) {
  ASSERT_FALSE(python_vectors().empty()) << "vectors.py dump printed nothing";
  std::set<std::string> known;
  for (const auto& c : expected_values()) known.insert(c.name);
  for (const auto& r : refusals()) known.insert(r.name);
  for (const auto& [name, v] : python_vectors()) EXPECT_TRUE(known.count(name)) << name;
  for (const auto& name : known) EXPECT_TRUE(find_vector(name)) << name << " is not in vectors.py";
}

TEST(PickleVectors, DecodeEqualsExpectedValueAndMitogensReading) {
  for (const auto& [name, expected] : expected_values()) {
    SCOPED_TRACE(name);
    const python_vector* pv = find_vector(name);
    ASSERT_TRUE(pv);
    result<value> r = decode(pv->pickle);
    ASSERT_TRUE(r.has_value()) << r.error();
    EXPECT_EQ(*r, expected);
    EXPECT_EQ(to_string(*r), pv->mitogen);
  }
}

TEST(PickleVectors, EncodeEqualsPythonsPickleWithoutMemo) {
  int compared = 0;
  for (const auto& [name, v] : expected_values()) {
    SCOPED_TRACE(name);
    const python_vector* pv = find_vector(name);
    ASSERT_TRUE(pv);
    if (!pv->stripped) continue;  // Python shared an object through the memo
    result<std::string> r = encode(v);
    ASSERT_TRUE(r.has_value()) << r.error();
    EXPECT_EQ(hex(*r), hex(*pv->stripped));
    ++compared;
  }
  EXPECT_GE(compared, 60);
}

// Values the table above does not hold: what our encoder normalises, and
// the widest things it writes.
std::vector<named_value> extra_values() {
  list deep = list{{1}};
  for (int i = 1; i < 100; ++i) deep = list{{std::move(deep)}};  // 100 containers
  list many_bytes;
  for (int i = 0; i < 2500; ++i) many_bytes.items.emplace_back(bytes{std::to_string(i)});
  return {
      {"kwargs_bytes_key", kwargs{{{bytes{"k"}, 1}, {"t", 2}}}},
      {"context_empty_name", context_ref{4, ""}},
      {"big_not_minimal", big_int{std::string("\x05\x00\x00", 3)}},
      {"uint64_max", std::numeric_limits<std::uint64_t>::max()},
      {"depth_100", deep},
      {"many_bytes", many_bytes},
      {"blob_all", blob{std::string("\x80\xff\x00", 3)}},
      {"dict_of_kwargs", dict{{{"k", kwargs{{{"a", sender_ref{1, 2}}}}}}}},
  };
}

TEST(PickleVectors, MitogenReadsOurEncodingAsWeDo) {
  std::vector<named_value> values = expected_values();
  for (auto& e : extra_values()) values.push_back(std::move(e));
  std::vector<std::pair<std::string, std::string>> named;
  std::map<std::string, std::string> ours;
  for (const auto& [name, v] : values) {
    result<std::string> enc = encode(v);
    ASSERT_TRUE(enc.has_value()) << name << ": " << enc.error();
    result<value> back = decode(*enc);
    ASSERT_TRUE(back.has_value()) << name << ": " << back.error();
    named.emplace_back(name, *enc);
    ours[name] = to_string(*back);
  }
  std::map<std::string, std::string> theirs = mitogen_reads(named);
  ASSERT_EQ(theirs.size(), ours.size());
  for (const auto& [name, s] : ours) EXPECT_EQ(theirs[name], s) << name;
  // And what the normalisations come to.
  EXPECT_EQ(theirs["kwargs_bytes_key"], "Kwargs({\"k\": 1, \"t\": 2})");
  EXPECT_EQ(theirs["context_empty_name"], "Context(4, None)");
  EXPECT_EQ(theirs["big_not_minimal"], "5");
  EXPECT_EQ(theirs["uint64_max"], "18446744073709551615");
}

TEST(PickleRoundTrip, DecodeOfEncodeIsIdentity) {
  for (const auto& [name, v] : expected_values()) {
    SCOPED_TRACE(name);
    result<std::string> enc = encode(v);
    ASSERT_TRUE(enc.has_value()) << enc.error();
    result<value> back = decode(*enc);
    ASSERT_TRUE(back.has_value()) << back.error();
    EXPECT_EQ(*back, v);
  }
}

TEST(PickleCall, SixTupleFromCallChainMakeMsg) {
  const python_vector* pv = find_vector("call_function");
  ASSERT_TRUE(pv);
  result<value> r = decode(pv->pickle);
  ASSERT_TRUE(r.has_value()) << r.error();
  const tuple* call = r->get<tuple>();
  ASSERT_TRUE(call);
  ASSERT_EQ(call->items.size(), 6u);
  EXPECT_TRUE(call->items[0].is<none_t>());  // chain_id: not pipelined
  ASSERT_TRUE(call->items[1].is<text>());
  EXPECT_EQ(call->items[1].get<text>()->utf8, "posixpath");
  EXPECT_TRUE(call->items[2].is<none_t>());
  EXPECT_EQ(call->items[3].get<text>()->utf8, "join");
  ASSERT_TRUE(call->items[4].is<tuple>());
  const kwargs* kw = call->items[5].get<kwargs>();
  ASSERT_TRUE(kw);
  for (const auto& [k, v] : kw->items) EXPECT_TRUE(k.is<text>()) << to_string(k);
}

TEST(PickleCall, PythonTwoKwargsKeysComeOutAsText) {
  for (const char* name : {"py2_kwargs", "py2_call"}) {
    SCOPED_TRACE(name);
    const python_vector* pv = find_vector(name);
    ASSERT_TRUE(pv);
    result<value> r = decode(pv->pickle);
    ASSERT_TRUE(r.has_value()) << r.error();
    const kwargs* kw = r->get<kwargs>();
    if (!kw) kw = r->get<tuple>()->items[5].get<kwargs>();
    ASSERT_TRUE(kw);
    ASSERT_FALSE(kw->items.empty());
    for (const auto& [k, v] : kw->items) EXPECT_TRUE(k.is<text>()) << to_string(k);
  }
}

TEST(PickleRefusal, EachNamesTheOpcodeOrGlobalAndMitogenAgreesOrIsLaxer) {
  for (const refusal& r : refusals()) {
    SCOPED_TRACE(r.name);
    const python_vector* pv = find_vector(r.name);
    ASSERT_TRUE(pv);
    result<value> got = decode(pv->pickle);
    ASSERT_FALSE(got.has_value()) << to_string(*got);
    EXPECT_NE(got.error().find(r.needle), std::string::npos) << got.error();
    EXPECT_EQ(got.error().rfind("pickle offset ", 0), 0u) << got.error();
    EXPECT_EQ(pv->mitogen.rfind("ERROR: ", 0) == 0, r.mitogen_refuses) << pv->mitogen;
  }
}

TEST(PickleRefusal, EveryPrefixOfEveryVectorIsRefused) {
  for (const auto& [name, pv] : python_vectors()) {
    if (pv.pickle.size() > 4096 || name.starts_with("refuse_")) continue;
    SCOPED_TRACE(name);
    for (std::size_t n = 0; n < pv.pickle.size(); ++n) {
      result<value> r = decode(std::string_view(pv.pickle).substr(0, n));
      EXPECT_FALSE(r.has_value()) << n;
    }
  }
}

// Each byte of each vector replaced by each of a few values: no crash, and
// whatever decodes encodes and decodes to itself.
TEST(PickleRefusal, CorruptedBytesNeverCrash) {
  for (const auto& [name, pv] : python_vectors()) {
    if (pv.pickle.size() > 2048) continue;
    for (std::size_t i = 0; i < pv.pickle.size(); ++i) {
      for (std::uint8_t b : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
        std::string data = pv.pickle;
        data[i] = static_cast<char>(b);
        result<value> r = decode(data);
        if (!r.has_value()) continue;
        result<std::string> enc = encode(*r);
        ASSERT_TRUE(enc.has_value()) << name << " at " << i << ": " << enc.error();
        result<value> back = decode(*enc);
        ASSERT_TRUE(back.has_value()) << name << " at " << i << ": " << back.error();
        EXPECT_EQ(*back, *r) << name << " at " << i;
      }
    }
  }
}

std::string nested_lists(std::size_t depth) {
  return "\x80\x02" + std::string(depth, ']') + std::string(depth - 1, 'a') + ".";
}

TEST(PickleLimits, DepthIsCountedInContainers) {
  EXPECT_TRUE(decode(nested_lists(100)).has_value());
  result<value> r = decode(nested_lists(101));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("nested deeper than 100"), std::string::npos) << r.error();
  limits tight;
  tight.max_depth = 3;
  EXPECT_TRUE(decode(nested_lists(3), tight).has_value());
  EXPECT_FALSE(decode(nested_lists(4), tight).has_value());
}

TEST(PickleLimits, OpenMarksAreBounded) {
  result<value> r = decode("\x80\x02" + std::string(200, '('));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("more than 100 MARKs open"), std::string::npos) << r.error();
}

TEST(PickleLimits, MemoReferencesAreCountedAsCopies) {
  // A list of 1000 ints, then a tuple holding it 2000 times: Python shares
  // one list, we would copy two million ints.
  std::string p = "\x80\x02(]q\x00("s;
  for (int i = 0; i < 1000; ++i) p += "K\x01";
  p += "e";
  for (int i = 0; i < 2000; ++i) p += "h\x00"s;
  p += "t.";
  result<value> r = decode(p);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("more than 1048576 items"), std::string::npos) << r.error();
}

TEST(PickleLimits, StringBytesAreCountedAsCopies) {
  limits lim;
  lim.max_bytes = 1 << 20;
  std::string s(100000, 'x');
  std::string p = "\x80\x02(X\xa0\x86\x01\x00"s + s + "q\x00"s;
  for (int i = 0; i < 20; ++i) p += "h\x00"s;
  p += "t.";
  result<value> r = decode(p, lim);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("more than 1048576 bytes of strings"), std::string::npos) << r.error();
  lim.max_bytes = 4 << 20;
  EXPECT_TRUE(decode(p, lim).has_value());
}

TEST(PickleLimits, CodecsConversionIsBoundedWhileParsing) {
  limits lim;
  lim.max_bytes = 1000;
  // _codecs.encode of one 600-character text, twice through the memo.
  std::string text_op = "X\x58\x02\x00\x00"s + std::string(600, 'a');
  std::string latin1 = "X\x06\x00\x00\x00latin1"s;
  std::string p = "\x80\x02(c_codecs\nencode\nq\x00"s + text_op + "q\x01" + latin1 + "q\x02\x86R" +
                  "h\x00h\x01h\x02\x86R"s + "t.";
  result<value> r = decode(p, lim);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("_codecs.encode: more than 1000 bytes converted"), std::string::npos)
      << r.error();
}

TEST(PickleLimits, ParsingWorkIsBounded) {
  limits lim;
  lim.max_items = 10;
  std::string p = "\x80\x02](" + std::string(100, 'N') + "e.";
  result<value> r = decode(p, lim);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("more than 80 objects while parsing"), std::string::npos) << r.error();
}

TEST(PickleDecode, ErrorsCarryTheOffsetOfTheOpcode) {
  result<value> r = decode(std::string("\x80\x02(NNN\x62.", 8));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), "pickle offset 6: opcode BUILD (0x62 'b') is not supported");
  r = decode("");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), "pickle offset 0: end of input before STOP");
}

TEST(PickleDecode, NoProtoOpcodeIsAccepted) {
  result<value> r = decode("K\x07.");
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(*r, value(7));
}

struct encode_refusal {
  const char* what;
  value v;
  const char* needle;
};

TEST(PickleEncode, RefusesWhatMitogenWouldRefuse) {
  list too_deep = list{};
  for (int i = 1; i < 101; ++i) too_deep = list{{std::move(too_deep)}};
  std::vector<encode_refusal> cases = {
      {"bad utf-8", text{"\xff"}, "pickle encode: str is not UTF-8 (bad byte at 0)"},
      {"CallError 10000", call_error{std::string(10000, 'e')},
       "CallError text of 10000 characters, Mitogen's limit is 9999"},
      {"Context name 100", context_ref{1, std::string(100, 'n')}, "Context name of 100 characters"},
      {"Context id", context_ref{-1, std::nullopt}, "Context id -1 is negative"},
      {"Sender handle", sender_ref{1, 0}, "Sender(1, 0) needs context_id >= 0 and handle > 0"},
      {"unhashable key", dict{{{list{}, 1}}}, "unhashable dict key of type list"},
      {"unhashable tuple key", dict{{{tuple{{dict{}}}, 1}}}, "unhashable dict key of type tuple"},
      {"depth", too_deep, "containers nested deeper than 100"},
      {"huge int", int_from_le(std::string(2000, '\x01')), "int of 2000 bytes, the limit is 1024"},
      {"Kwargs key", kwargs{{{bytes{"\xff"}, 1}}}, "Kwargs bytes key is not UTF-8"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    result<std::string> r = encode(c.v);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().find(c.needle), std::string::npos) << r.error();
  }
}

TEST(PickleValue, BuildAndInspect) {
  value v = tuple{{1, "a", bytes{"b"}, none, kwargs{{{"k", 2.5}}}}};
  ASSERT_TRUE(v.is<tuple>());
  EXPECT_EQ(v.kind(), value::kind_t::tuple);
  const auto& items = v.get<tuple>()->items;
  EXPECT_EQ(items[0], value(1));
  EXPECT_EQ(items[1].get<text>()->utf8, "a");
  EXPECT_STREQ(items[4].type_name(), "Kwargs");
  EXPECT_EQ(to_string(v), "(1, \"a\", b\"b\", None, Kwargs({\"k\": float:4004000000000000}))");
  EXPECT_NE(value(1), value(true));
  EXPECT_NE(value(0.0), value(-0.0));
  EXPECT_EQ(value(std::nan("")), value(std::nan("")));
  EXPECT_EQ(int_to_le(0), "");
  EXPECT_EQ(int_to_le(255), std::string("\xff\x00", 2));
  EXPECT_EQ(int_to_le(-128), "\x80");
  EXPECT_EQ(to_string(int_from_le(std::string(262, '\0') + "\xf0")).size(), 634u);
}

// The ASCII fast paths work a word at a time, so a high byte is placed at
// every offset of the first three words.
TEST(PickleUtf8, AsciiRunsEndAtTheFirstHighByte) {
  for (std::size_t at = 0; at < 24; ++at) {
    std::string s(24, 'a');
    s[at] = '\xc3';
    EXPECT_EQ(utf8::ascii_end(s, 0), at);
    EXPECT_EQ(utf8::ascii_end(s, at + 1), s.size());
  }
  EXPECT_EQ(utf8::ascii_end("", 0), 0u);
}

TEST(PickleUtf8, CheckCountsCodePointsAcrossAsciiRuns) {
  // 9 + 1 + 12 + 1 code points; the é and the U+20AC sit across word ends.
  std::string s = "abcdefghi\xc3\xa9" + std::string(12, 'x') + "\xe2\x82\xac";
  utf8::check_result c = utf8::check(s, false);
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.code_points, 23u);
  c = utf8::check(std::string(17, 'a') + "\xff", false);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.bad_offset, 17u);
}

TEST(PickleRoundTrip, BytesWithHighBytesAtEveryOffset) {
  for (std::size_t at = 0; at < 20; ++at) {
    std::string data(20, 'q');
    data[at] = '\xff';
    data[(at + 7) % 20] = '\x80';
    result<std::string> p = encode(value{bytes{data}});
    ASSERT_TRUE(p.has_value()) << p.error();
    result<value> back = decode(*p);
    ASSERT_TRUE(back.has_value()) << back.error();
    const auto* b = back->get<bytes>();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->data, data) << "high byte at " << at;
  }
}

// The latin-1 conversions work a word at a time: every byte value at every
// offset of strings up to five words long, against the code point at a time.
TEST(PickleLatin1, EveryByteAtEveryOffsetConvertsBothWays) {
  for (std::size_t len = 0; len <= 40; ++len) {
    for (unsigned seed = 0; seed < 256; seed += 7) {
      std::string data(len, '\0'), want;
      for (std::size_t i = 0; i < len; ++i) {
        // Runs of ASCII between high bytes, and every byte value somewhere.
        data[i] = static_cast<char>((i + seed) % 3 ? 'a' + (i % 26) : (seed + i * 37) % 256);
        utf8::append(want, static_cast<std::uint8_t>(data[i]));
      }
      ASSERT_EQ(latin1::utf8_size(data), want.size()) << len << "/" << seed;
      std::string text(want.size() + 1, '?');
      latin1::to_utf8(data, text.data());
      text.pop_back();
      ASSERT_EQ(text, want) << len << "/" << seed;
      ASSERT_EQ(latin1::code_points(text), len) << len << "/" << seed;
      std::string back = "kept";
      ASSERT_TRUE(latin1::append_from_utf8(back, text)) << len << "/" << seed;
      ASSERT_EQ(back, "kept" + data) << len << "/" << seed;
      back.clear();
      ASSERT_TRUE(latin1::append_from_utf8(back, text, len));
      ASSERT_EQ(back, data);
    }
  }
}

TEST(PickleLatin1, OnlyWellFormedLatin1TextIsTaken) {
  const std::string pad(13, 'p');  // puts the bad byte in the word loop and in the tail
  for (const std::string& bad : {"\x80"s, "\xc3"s,
                                 "\xc3"
                                 "a"s,
                                 "\xc3\xc3"s, "\xc4\x80"s, "\xe2\x82\xac"s, "\xff"s, "\xc0\x80"s}) {
    for (const std::string& s : {bad, pad + bad, bad + pad, pad + bad + pad}) {
      EXPECT_FALSE(latin1::code_points(s).has_value()) << ::testing::PrintToString(s);
      std::string out = "kept";
      EXPECT_FALSE(latin1::append_from_utf8(out, s)) << ::testing::PrintToString(s);
      EXPECT_EQ(out, "kept");
    }
  }
  // Well-formed but beyond U+00FF: the full check still counts it, and the
  // conversion of a text already checked refuses it.
  const std::string euro = pad + "\xe2\x82\xac" + pad;
  utf8::check_result c = utf8::check(euro, false);
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.code_points, 27u);
  std::string out;
  EXPECT_FALSE(latin1::append_from_utf8(out, euro, c.code_points));
  EXPECT_TRUE(out.empty());
}

TEST(PickleRefusal, CodecsNamesTheCharacterAfterAnAsciiRun) {
  // _codecs.encode('aaaaaaaaaaaaĀ', 'latin1'): U+0100 is character 12.
  std::string text = std::string(12, 'a') + "\xc4\x80";
  std::string p = "\x80\x02(c_codecs\nencode\nX"s + static_cast<char>(text.size()) +
                  "\x00\x00\x00"s + text + "X\x06\x00\x00\x00latin1"s + "\x86Rt.";
  result<value> r = decode(p);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("character 12 is U+0100, not latin-1"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace faultmux::pickle
