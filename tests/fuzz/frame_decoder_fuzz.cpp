// Fuzz target for the frame decoder. The input chooses a size limit and a
// schedule of read sizes, then is fed to the decoder as a byte stream the way
// a stream would: in chunks, some bodies through body_space()/commit_body().
// Checked on every input, beyond "no crash":
//   - every decoded message re-encodes to the next bytes of the input (only
//     the magic may differ: any of the three accepted ones);
//   - completed frames plus buffered() account for every byte fed;
//   - an error sits exactly at a header that deserves it, with Mitogen's
//     wording, and nothing is consumed after it;
//   - the result does not depend on the chunking (compared with one feed).
//
// Input layout: [limit selector] [n] [n schedule bytes] [stream...], where a
// schedule byte's low 7 bits are a read size (0 = an empty read) and its top
// bit asks for the direct body path.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mux/frame.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using faultmux::frame_decoder;
using faultmux::frame_error;
using faultmux::header_size;
using faultmux::message;

// Small limits, so that too_large is reached and bodies stay cheap.
constexpr std::uint64_t limits[] = {0, 1, 26, 255, 4096, 65536, 1u << 20};

bool accepted_magic(std::uint16_t m) {
  return m == faultmux::magic_pickled_legacy || m == faultmux::magic_pickled ||
         m == faultmux::magic_raw;
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::size_t frames_size(const std::vector<message>& ms) {
  std::size_t n = 0;
  for (const message& m : ms) n += header_size + m.data.size();
  return n;
}

bool contains(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint64_t max = limits[data[0] % (sizeof(limits) / sizeof(limits[0]))];
  const std::size_t n_schedule = std::min<std::size_t>(data[1] % 8 + 1, size - 2);
  const std::uint8_t* schedule = data + 2;
  const std::uint8_t* stream = schedule + n_schedule;
  const std::size_t total = size - 2 - n_schedule;

  frame_decoder d(max);
  std::vector<message> out;
  std::size_t fed = 0;
  std::size_t step = 0;
  std::size_t out_at_error = 0;
  while (fed < total) {
    std::uint8_t s = n_schedule ? schedule[step++ % n_schedule] : 1;
    std::size_t want = s & 0x7f;
    const bool failed_before = d.error() != frame_error::none;
    if (want == 0) {
      // An empty read changes nothing.
      std::size_t held = d.buffered(), count = out.size();
      FUZZ_CHECK(d.feed(std::span<const std::uint8_t>(), out) == d.error());
      FUZZ_CHECK(d.buffered() == held && out.size() == count);
      want = 1;
    }
    want = std::min(want, total - fed);
    // As a stream reads: in place only when a whole read's worth is to come.
    const bool whole_read = (s & 0x40) != 0;
    std::span<std::uint8_t> space = whole_read ? d.body_space(want) : d.body_space();
    FUZZ_CHECK(!whole_read || space.empty() || space.size() >= want);
    if ((s & 0x80) && !space.empty()) {
      FUZZ_CHECK(!failed_before);
      want = std::min(want, space.size());
      std::memcpy(space.data(), stream + fed, want);
      d.commit_body(want, out);
    } else {
      frame_error e = d.feed(std::span<const std::uint8_t>(stream + fed, want), out);
      FUZZ_CHECK(e == d.error());
    }
    fed += want;
    if (failed_before) {
      // Failed decoders take nothing more.
      FUZZ_CHECK(out.size() == out_at_error);
    } else if (d.error() != frame_error::none) {
      out_at_error = out.size();
    } else {
      // Every byte fed so far is in a completed frame or held.
      FUZZ_CHECK(frames_size(out) + d.buffered() == fed);
    }
  }

  // Messages are the input's frames, in order.
  std::size_t at = 0;
  for (const message& m : out) {
    FUZZ_CHECK(m.data.size() <= max);
    std::string frame = faultmux::encode_frame(m);
    FUZZ_CHECK(at + frame.size() <= total);
    FUZZ_CHECK(accepted_magic(static_cast<std::uint16_t>((stream[at] << 8) | stream[at + 1])));
    FUZZ_CHECK(std::memcmp(frame.data() + 2, stream + at + 2, frame.size() - 2) == 0);
    at += frame.size();
  }

  const std::string& detail = d.error_detail();
  switch (d.error()) {
    case frame_error::none:
      FUZZ_CHECK(detail.empty());
      FUZZ_CHECK(at + d.buffered() == total);
      break;
    case frame_error::bad_magic: {
      // The rejected header is complete and sits right after the last frame.
      FUZZ_CHECK(at + header_size <= total);
      FUZZ_CHECK(d.buffered() == header_size);
      FUZZ_CHECK(!accepted_magic(static_cast<std::uint16_t>((stream[at] << 8) | stream[at + 1])));
      FUZZ_CHECK(contains(detail, "Corruption detected: frame signature incorrect"));
      FUZZ_CHECK(detail.size() < 512);
      break;
    }
    case frame_error::too_large: {
      FUZZ_CHECK(at + header_size <= total);
      FUZZ_CHECK(d.buffered() == header_size);  // no body taken or held
      FUZZ_CHECK(accepted_magic(static_cast<std::uint16_t>((stream[at] << 8) | stream[at + 1])));
      std::uint32_t len = be32(stream + at + 22);
      FUZZ_CHECK(len > max);
      FUZZ_CHECK(detail == "Maximum message size exceeded (got " + std::to_string(len) + ", max " +
                               std::to_string(max) + ")");
      break;
    }
  }
  if (d.error() != frame_error::none) FUZZ_CHECK(d.body_space().empty());

  // The same stream in one feed gives the same result.
  frame_decoder once(max);
  std::vector<message> once_out;
  FUZZ_CHECK(once.feed(std::span<const std::uint8_t>(stream, total), once_out) == d.error());
  FUZZ_CHECK(once_out.size() == out.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    FUZZ_CHECK(faultmux::encode_frame(once_out[i]) == faultmux::encode_frame(out[i]));
  FUZZ_CHECK(once.buffered() == d.buffered());
  FUZZ_CHECK(once.error_detail() == detail);
  return 0;
}
