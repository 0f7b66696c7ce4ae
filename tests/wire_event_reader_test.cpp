// The one event reader (wire/event_reader.hpp): complete JSON-object lines
// only, so a file can be read while its writers are still appending.
#include "wire/event_reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "wire/event_line.hpp"

namespace faultmux::wire {
namespace {

TEST(EventReader, SkipsPartialAndNonJsonLines) {
  std::string text =
      "{\"t\":1.5,\"pid\":7,\"role\":\"mux\",\"event\":\"listening\",\"path\":\"/s\"}\n"
      "not json\n"
      "[1,2]\n"
      "\n"
      "{\"t\":2,\"event\":\"exit\",\"code\":0}\n"
      "{\"t\":3,\"event\":\"half";  // still being written
  auto evs = parse_event_lines(text, "mux");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].t, 1.5);
  EXPECT_EQ(evs[0].source, "mux");
  EXPECT_EQ(evs[0].event(), "listening");
  EXPECT_EQ(evs[0].str("path"), "/s");
  EXPECT_EQ(evs[0].pid(), 7);
  EXPECT_EQ(evs[1].t, 2.0);
  EXPECT_EQ(evs[1].num("code"), 0);
}

TEST(EventReader, MissingOrMistypedFieldsFallBack) {
  auto evs = parse_event_lines("{\"event\":3,\"n\":\"x\"}\n", "w");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].t, 0.0);
  EXPECT_EQ(evs[0].event(), "");
  EXPECT_EQ(evs[0].str("missing"), "");
  EXPECT_EQ(evs[0].num("n", 9), 9);
  EXPECT_EQ(evs[0].pid(), -1);
}

TEST(EventReader, ReadsWhatTheWriterWrote) {
  string_event_line l;
  l.head(timespec{5, 250000000}, 42, "worker", "reply");
  l.field("why", "bad \xff byte");
  l.field("ms", 1.25);
  std::string line(l.finish());
  char path[] = "/tmp/faultmux-event-reader-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  ::close(fd);
  auto evs = read_event_file(path, "worker-1");
  ::unlink(path);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].t, 5.25);
  EXPECT_EQ(evs[0].source, "worker-1");
  EXPECT_EQ(evs[0].event(), "reply");
  EXPECT_EQ(evs[0].str("why"), "bad \xef\xbf\xbd byte");
  EXPECT_EQ(evs[0].data["ms"].get<double>(), 1.25);
  EXPECT_TRUE(read_event_file("/nonexistent/x.events", "x").empty());
}

}  // namespace
}  // namespace faultmux::wire
