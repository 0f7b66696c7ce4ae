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
  EXPECT_EQ(evs[0].real("ms", 0), 1.25);
  EXPECT_TRUE(read_event_file("/nonexistent/x.events", "x").empty());
}

// Fields are read from the line when asked for: every JSON form a writer
// may use (Python's json.dumps spacing and escapes, nested values, a
// field's name inside another's text) reads as a JSON parser reads it.
TEST(EventReader, FieldsReadAsJsonReadsThem) {
  const std::string line =
      R"({"t": 2.5, "pid": 12, "event": "log", "msg": "said \"stream\": \"x\" \u00e9",)"
      R"( "nested": {"stream": "inner", "list": [1, "]", {"a": "}"}]}, "ok": false,)"
      R"( "n": 3.0, "big": 1e3, "neg": -4, "stream": "outer", "none": null})";
  auto e = event_record::parse(line, "w");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->t, 2.5);
  EXPECT_EQ(e->pid(), 12);
  EXPECT_EQ(e->event(), "log");
  EXPECT_EQ(e->str("msg"), "said \"stream\": \"x\" \u00e9");
  EXPECT_EQ(e->str("stream"), "outer");
  EXPECT_EQ(e->str("nested"), "");  // not a string
  EXPECT_FALSE(e->flag("ok", true));
  EXPECT_TRUE(e->flag("missing", true));
  EXPECT_EQ(e->num("n"), 3);
  EXPECT_EQ(e->num("big"), 1000);
  EXPECT_EQ(e->num("neg"), -4);
  EXPECT_EQ(e->num("none", 7), 7);
  EXPECT_EQ(e->real("none", 0.5), 0.5);
  EXPECT_TRUE(e->has("none"));
  // A repeated key: the last counts (the mux's handshake names the client's pid).
  auto twice = event_record::parse(R"({"pid":1,"event":"handshake","pid":2})", "mux");
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->pid(), 2);
  EXPECT_EQ(twice->num("pid"), 2);
  EXPECT_FALSE(e->has("absent"));
  const auto whole = nlohmann::json::parse(line);
  EXPECT_EQ(e->fields(), whole);
  EXPECT_EQ(e->fields()["nested"]["list"][2]["a"], "}");
}

TEST(EventReader, ALineThatIsNotOneObjectIsNoEvent) {
  for (const char* bad :
       {R"({"t":1,"event":"x"} trailing)", R"({"t":1,"event":"x")", R"({"t":1,"event":"x",})",
        R"({"t" 1})", R"({"t":})", R"({"msg":"unterminated})", R"({t:1})", ""}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(event_record::parse(bad, "w"));
  }
  EXPECT_TRUE(event_record::parse("{}", "w"));
  EXPECT_TRUE(event_record::parse(" { } ", "w"));
}

TEST(EventReader, SetChangesOneFieldAndWhatIsKeptOfIt) {
  auto e = event_record::of(1.0, "mux", {{"event", "spawn"}, {"pid", 3}, {"name", "a"}});
  EXPECT_EQ(e.t, 1.0);
  EXPECT_EQ(e.source, "mux");
  e.set("pid", 9);
  e.set("event", "exit");
  e.set("name", "b \"quoted\"");
  EXPECT_EQ(e.pid(), 9);
  EXPECT_EQ(e.event(), "exit");
  EXPECT_EQ(e.str("name"), "b \"quoted\"");
  EXPECT_EQ(e.source, "mux");
  EXPECT_EQ(e.t, 1.0);
}

}  // namespace
}  // namespace faultmux::wire
