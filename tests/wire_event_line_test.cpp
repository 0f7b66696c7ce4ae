// The one event-line writer (wire/event_line.hpp): escaping, U+FFFD for
// bytes that are not UTF-8, lines cut to a fixed buffer that still parse,
// and no allocation on the fixed buffer (the shim's path).
#include "wire/event_line.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

#include "wire/event_file.hpp"

namespace {

// Every operator new of this binary counts here. (GCC warns that free()
// gets memory from operator new: here operator new is malloc.)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
std::atomic<long> allocations{0};

}  // namespace

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace faultmux::wire {
namespace {

using nlohmann::json;

constexpr timespec at{12, 5};

std::string string_line(std::string_view value) {
  string_event_line l;
  l.head(at, 42, "mux", "log");
  l.field("msg", value);
  return std::string(l.finish());
}

TEST(EventLine, HeadInOrderWithNineDecimalsAndOneNewline) {
  string_event_line l;
  l.head(at, 42, "mux", "log");
  l.field("n", 7);
  l.field("ok", true);
  l.field("x", -3LL);
  l.field("big", std::uint64_t{18446744073709551615u});
  EXPECT_EQ(l.finish(),
            R"({"t":12.000000005,"pid":42,"role":"mux","event":"log","n":7,"ok":true,"x":-3,)"
            R"("big":18446744073709551615})"
            "\n");
}

TEST(EventLine, DoublesStayFloatsAndNonFiniteIsNull) {
  string_event_line l;
  l.head(at, 1, "r", "e");
  l.field("a", 2.0);
  l.field("b", 0.25);
  l.field("c", 1.0 / 0.0);
  json j = json::parse(l.finish());
  EXPECT_TRUE(j["a"].is_number_float());
  EXPECT_EQ(j["a"].get<double>(), 2.0);
  EXPECT_EQ(j["b"].get<double>(), 0.25);
  EXPECT_TRUE(j["c"].is_null());
}

TEST(EventLine, EscapesQuotesBackslashesAndControlBytes) {
  std::string v = "a\"b\\c\nd\x01";
  std::string line = string_line(v);
  EXPECT_NE(line.find(R"("msg":"a\"b\\c\u000ad\u0001")"), std::string::npos) << line;
  EXPECT_EQ(json::parse(line)["msg"], v);
}

TEST(EventLine, InvalidUtf8BecomesReplacementCharacter) {
  // A lone continuation byte, an overlong '/', a surrogate, a cut sequence;
  // valid two-, three- and four-byte characters pass through.
  std::string v = "x\x80y\xc0\xafz\xed\xa0\x80w\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x82";
  json j = json::parse(string_line(v));
  EXPECT_EQ(j["msg"],
            "x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdw"
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(EventLine, TooLongLineIsCutAndStillParses) {
  for (std::size_t cap : {128u, 129u, 150u, 200u, 257u}) {
    for (const char* fill : {"a", "\"", "\x01", "\xe2\x82\xac", "\xff"}) {
      std::string v;
      while (v.size() < 600) v += fill;
      std::vector<char> buf(cap);
      fixed_event_line l(buf.data(), buf.size());
      l.head(at, 42, "mux", "fault");
      l.field("rule_text", v);
      l.field("n", 3);
      std::string_view s = l.finish();
      ASSERT_LE(s.size(), cap);
      ASSERT_GE(s.size(), 2u);
      EXPECT_EQ(s.substr(s.size() - 2), "}\n");
      json j = json::parse(s, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << cap << " " << s;
      EXPECT_EQ(j["event"], "fault");
      EXPECT_EQ(j["truncated"], true);
      EXPECT_FALSE(j.contains("n"));  // nothing after the cut
    }
  }
}

TEST(EventLine, CutDropsAWholeNumberField) {
  char buf[128];
  fixed_event_line l(buf, sizeof buf);
  l.head(at, 42, "mux", "fault");
  l.field("pad", std::string(128 - 75, 'p'));
  l.field("number", std::int64_t{-1234567890123});
  std::string_view s = l.finish();
  json j = json::parse(s);
  EXPECT_FALSE(j.contains("number")) << s;
  EXPECT_EQ(j["truncated"], true);
}

TEST(EventLine, FixedAndStringBuffersWriteTheSameBytes) {
  char buf[2048];
  fixed_event_line f(buf, sizeof buf);
  string_event_line s;
  f.head(at, 42, "mux", "fault");
  s.head(at, 42, "mux", "fault");
  f.field("rule_text", "read -> eagain \xff");
  s.field("rule_text", "read -> eagain \xff");
  f.field("fd", -1);
  s.field("fd", -1);
  EXPECT_FALSE(f.truncated());
  EXPECT_EQ(f.finish(), s.finish());
}

TEST(EventLine, FixedBufferNeverAllocates) {
  std::string long_value(5000, '\xe9');  // all invalid: every byte is replaced
  char buf[2048];
  long before = allocations.load();
  {
    fixed_event_line l(buf, sizeof buf);
    l.begin(event_clock(), 42, "mux");
    l.field("index", std::int64_t{0});
    l.field("event", "fault");
    l.field("fd", 7);
    l.field("n", std::uint64_t{3});
    l.field("rule_text", std::string_view(long_value));
    (void)l.finish();
  }
  EXPECT_EQ(allocations.load(), before);
  // The counter works: a string line does allocate.
  (void)string_line(long_value);
  EXPECT_GT(allocations.load(), before);
}

TEST(EventFile, AppendsWholeLines) {
  char path[] = "/tmp/faultmux-event-file-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  {
    event_file f;
    EXPECT_FALSE(f.is_open());
    f.write_line("ignored\n");  // closed: nothing
    ASSERT_EQ(f.open(path), 0);
    f.write_line(string_line("one"));
    f.write_line(string_line("two"));
  }
  std::FILE* in = std::fopen(path, "r");
  ASSERT_NE(in, nullptr);
  char text[512] = {};
  std::size_t n = std::fread(text, 1, sizeof text - 1, in);
  std::fclose(in);
  ::unlink(path);
  EXPECT_EQ(std::string(text, n), string_line("one") + string_line("two"));
  event_file bad;
  EXPECT_EQ(bad.open("/nonexistent-dir/x.events"), ENOENT);
}

}  // namespace
}  // namespace faultmux::wire
