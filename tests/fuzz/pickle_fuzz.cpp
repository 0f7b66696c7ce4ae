// Fuzz target for the pickle codec (mux/pickle.hpp). The first input byte
// picks the limits (the defaults, or tight ones so that each limit is
// reached); the rest is the pickle. Checked on every input, beyond "no
// crash":
//   - a refusal is one line, "pickle offset N: ...", with N inside the input;
//   - whatever decodes also encodes (the decoder yields only values the
//     encoder accepts), and that encoding decodes, under the same limits, to
//     an equal value;
//   - encoding is deterministic: the value decoded again encodes to the same
//     bytes.
//
// Built with FAULTMUX_PICKLE_FUZZ_REPLAY, the file also has a main() for
// builds without libFuzzer (ctest label "unit"): seeds made by encoding a
// value of every kind plus a few hand-made pickles (memo, Python 2 strings,
// LONG4), then 200000 pseudo-random mutations of them from a fixed seed, so
// every run checks the same inputs. With file arguments, it replays those
// files instead (e.g. a crash input saved by libFuzzer).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mux/pickle.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace faultmux::pickle;

limits pick_limits(std::uint8_t selector) {
  limits lim;
  switch (selector % 4) {
    case 0:  // the defaults
      break;
    case 1:
      lim.max_depth = 4;
      lim.max_items = 64;
      lim.max_bytes = 256;
      lim.max_long_bytes = 9;
      break;
    case 2:
      lim.max_depth = 16;
      lim.max_items = 1024;
      lim.max_bytes = 4096;
      lim.max_long_bytes = 64;
      break;
    default:
      lim.max_depth = 1;
      lim.max_items = 4;
      lim.max_bytes = 8;
      lim.max_long_bytes = 0;
      break;
  }
  return lim;
}

// "pickle offset N: " with N <= size, and no newline.
void check_error(const std::string& e, std::size_t size) {
  constexpr std::string_view prefix = "pickle offset ";
  FUZZ_CHECK(e.compare(0, prefix.size(), prefix) == 0);
  std::size_t colon = e.find(':', prefix.size());
  FUZZ_CHECK(colon != std::string::npos && colon > prefix.size());
  std::uint64_t offset = 0;
  for (std::size_t i = prefix.size(); i < colon; ++i) {
    FUZZ_CHECK(e[i] >= '0' && e[i] <= '9');
    offset = offset * 10 + static_cast<std::uint64_t>(e[i] - '0');
  }
  FUZZ_CHECK(offset <= size);
  FUZZ_CHECK(e.find('\n') == std::string::npos);
  FUZZ_CHECK(e.size() < 1024);
}

std::size_t decoded = 0;  // inputs that decoded, for the replay driver's report

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const limits lim = pick_limits(data[0]);
  std::string_view pickle(reinterpret_cast<const char*>(data + 1), size - 1);

  result<value> first = decode(pickle, lim);
  if (!first.has_value()) {
    check_error(first.error(), pickle.size());
    return 0;
  }
  ++decoded;
  (void)to_string(*first);
  result<std::string> enc = encode(*first, lim);
  if (!enc.has_value()) std::fprintf(stderr, "encode: %s\n", enc.error().c_str());
  FUZZ_CHECK(enc.has_value());
  result<value> second = decode(*enc, lim);
  if (!second.has_value()) std::fprintf(stderr, "decode again: %s\n", second.error().c_str());
  FUZZ_CHECK(second.has_value());
  FUZZ_CHECK(*second == *first);
  result<std::string> enc2 = encode(*second, lim);
  FUZZ_CHECK(enc2.has_value() && *enc2 == *enc);
  return 0;
}

#ifdef FAULTMUX_PICKLE_FUZZ_REPLAY

#include <random>
#include <vector>

namespace {

using namespace std::string_literals;

void run(std::uint8_t selector, const std::string& pickle) {
  std::string input(1, static_cast<char>(selector));
  input += pickle;
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

std::vector<std::string> seeds() {
  list many;
  for (int i = 0; i < 1001; ++i) many.items.emplace_back(i);
  const value values[] = {
      none,
      true,
      false,
      0,
      255,
      65535,
      -1,
      2147483648LL,
      std::numeric_limits<std::int64_t>::min(),
      int_from_le(std::string(300, '\x7f')),
      1.5,
      -0.0,
      "",
      "héllo \U0001F600",
      text{"\xed\xa0\x80"},
      bytes{""},
      bytes{"\x00\x80\xff"s},
      tuple{},
      tuple{{1}},
      tuple{{1, 2}},
      tuple{{1, 2, 3}},
      tuple{{1, 2, 3, 4}},
      list{{none}},
      many,
      dict{{{"a", 1}, {tuple{{1, "b"}}, list{}}}},
      kwargs{{{"k", bytes{"v"}}, {"n", none}}},
      call_error{"boom"},
      blob{""},
      blob{"\x01\x02"},
      secret{"pw"},
      context_ref{5, "local.5"},
      context_ref{0, std::nullopt},
      sender_ref{3, 1001},
      tuple{{none, "os", none, "getcwd", tuple{{1, bytes{"x"}}}, kwargs{{{"a", list{{1.0}}}}}}},
  };
  std::vector<std::string> out;
  for (const value& v : values) {
    result<std::string> enc = encode(v);
    FUZZ_CHECK(enc.has_value());
    out.push_back(*enc);
  }
  // What our encoder never writes: the memo, a Python 2 peer's str, LONG4,
  // BINBYTES, the protocol 4 text opcodes.
  out.push_back("\x80\x02]q\x00(K\x01h\x00e]r\x01\x00\x00\x00j\x01\x00\x00\x00\x86."s);
  out.push_back(
      "\x80\x02\x63mitogen.core\nKwargs\n}(U\x03keyK\x01T\x04\x00\x00\x00key2U\x01\x61u\x85R."s);
  out.push_back("\x80\x02\x8b\x02\x00\x00\x00\x01\x80."s);
  out.push_back("\x80\x02(C\x03\x61\x62\x63\x42\x01\x00\x00\x00\x64\x8c\x02hit."s);
  return out;
}

// Opcodes worth inserting: the supported ones and a few refused.
constexpr std::uint8_t interesting[] = {
    '(',  ')',  '.',  'N',  'K',  'J',  'M',  'G',  'X', 'U', 'T',  'C',  'B',  ']',
    '}',  'a',  'e',  's',  'u',  't',  'q',  'r',  'h', 'j', 'c',  'R',  0x80, 0x85,
    0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, '0', 'b', 0x93, 0x94, 0xff};

int run_random(const std::vector<std::string>& base, int count) {
  std::mt19937_64 rng(20240611);  // fixed: every run checks the same inputs
  // Raw engine output only: distributions differ between standard libraries.
  auto below = [&](std::uint64_t n) { return n ? rng() % n : 0; };
  auto byte = [&] { return static_cast<char>(rng()); };
  for (int i = 0; i < count; ++i) {
    std::string p = base[below(base.size())];
    for (std::uint64_t edits = 1 + below(3); edits > 0; --edits) {
      std::size_t at = below(p.size() + 1);
      switch (below(8)) {
        case 0:  // replace a byte
          if (at < p.size()) p[at] = byte();
          break;
        case 1:  // an opcode in the middle
          p.insert(at, 1, static_cast<char>(interesting[below(sizeof interesting)]));
          break;
        case 2:  // cut
          p.resize(at);
          break;
        case 3: {  // repeat a slice (nesting, memo references, batches)
          std::size_t len = below(p.size() - std::min(at, p.size()) + 1);
          std::string slice = p.substr(std::min(at, p.size()), len);
          p.insert(below(p.size() + 1), slice);
          break;
        }
        case 4: {  // splice in another seed's body
          const std::string& other = base[below(base.size())];
          std::string body = other.substr(2, other.size() > 3 ? other.size() - 3 : 0);
          p.insert(at, body);
          break;
        }
        case 5:  // a length or int field at its largest
          if (at + 4 <= p.size()) p.replace(at, 4, "\xff\xff\xff\x7f");
          break;
        case 6:  // a memo round trip
          p.insert(at, "q\x01h\x01"s);
          break;
        default:  // noise
          for (std::uint64_t k = below(8); k > 0; --k) p.insert(at, 1, byte());
          break;
      }
    }
    run(static_cast<std::uint8_t>(rng()), p);
  }
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) return faultmux::fuzz::replay_files(argc, argv);
  std::vector<std::string> base = seeds();
  int runs = 0;
  for (const std::string& s : base) {
    for (std::uint8_t selector = 0; selector < 4; ++selector) {
      run(selector, s);
      ++runs;
      // Every prefix, under the default limits.
      if (selector == 0) {
        for (std::size_t n = 0; n < s.size() && n < 512; ++n) run(0, s.substr(0, n));
      }
    }
  }
  runs += run_random(base, 200000);
  std::printf("pickle fuzz function: %d inputs (%zu decoded), all invariants held\n", runs,
              decoded);
  return 0;
}

#endif  // FAULTMUX_PICKLE_FUZZ_REPLAY
