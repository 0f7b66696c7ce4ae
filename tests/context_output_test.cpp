// A context's output and logs as its parent shows them: any bytes, very long
// lines, forwarded log records, verbosity reaching a grandchild.

#include <gtest/gtest.h>

#include "tests/support/context_fixture.hpp"

namespace faultmux {
namespace {

// --- a context's output and logs, as its parent shows them ------------------------

TEST_F(contexts, child_output_of_any_bytes_is_logged_without_error) {
  test::mux_process mux(dir_);
  client_node c(mux.socket_path());
  std::uint32_t x = c.context("x");
  std::string high;
  for (int i = 0x80; i <= 0xff; ++i) high += static_cast<char>(i);
  EXPECT_EQ(c.call(x, "write_stderr", {pickle::bytes{"high:" + high + "\n"}}), pickle::value(134));
  const std::string want = "x: high:" + latin1_to_utf8(high);
  EXPECT_TRUE(text_appears([&] { return mux.stderr_text(); }, want)) << mux.stderr_text();
  auto out = mux.wait_event(
      [&](const json& e) {
        return e.value("event", "") == "child_output" && e.value("line", "").starts_with("high:");
      },
      5s);
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)["line"].get<std::string>(), "high:" + latin1_to_utf8(high));
  EXPECT_EQ(out->value("stream", ""), "stderr");
  for (const auto& e : mux.events("log")) EXPECT_NE(e.value("level", ""), "error") << e.dump();
  stop_mux(mux);
}

TEST_F(contexts, a_hundred_megabytes_without_a_newline_cost_the_parent_one_line) {
  test::mux_process mux(dir_);
  client_node c(mux.socket_path());
  std::uint32_t x = c.context("x");
  ASSERT_EQ(c.call(x, "write_stderr", {pickle::bytes{"warm up\n"}}), pickle::value(8));
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); }, "x: warm up"));
  long before = peak_rss_kib(mux.pid());
  constexpr std::int64_t spew = 100 << 20;
  EXPECT_EQ(c.call(x, "spew", {spew}, 60s), pickle::value(spew));
  ASSERT_EQ(c.call(x, "write_stderr", {pickle::bytes{"\nafter the spew\n"}}), pickle::value(16));
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); }, "x: after the spew", 30s));
  long after = peak_rss_kib(mux.pid());
  ASSERT_GT(before, 0);
  RecordProperty("mux_peak_rss_kib_before", std::to_string(before));
  RecordProperty("mux_peak_rss_kib_after", std::to_string(after));
  // The line limit is 64 KiB: the parent may hold a few copies of one line
  // (buffer, log line, event), never the 100 MiB. ThreadSanitizer's shadow
  // memory makes every allocation cost several times its size.
#if defined(__SANITIZE_THREAD__)
  constexpr long growth_limit_kib = 6144;
#else
  constexpr long growth_limit_kib = 2048;
#endif
  EXPECT_LT(after - before, growth_limit_kib)
      << "peak RSS grew from " << before << " to " << after << " KiB";
  std::string err = mux.stderr_text();
  EXPECT_EQ(count_of(err, "[line cut at 65536 bytes]"), 1u);
  auto cut = err.find("x: " + std::string(65536, 'A') + " [line cut at 65536 bytes]");
  EXPECT_NE(cut, std::string::npos);
  stop_mux(mux);
}

// A context floods its parent with FORWARD_LOG (200000 records) while a
// worker calls another context through the same mux: those calls are not
// starved, the flooding context is not cut off as a slow reader, every
// record arrives, and the mux's memory stays bounded.
TEST_F(contexts, a_log_flood_from_one_context_starves_no_other_calls) {
  test::mux_process mux(dir_);
  client_node c(mux.socket_path());
  std::uint32_t x = c.context("x"), y = c.context("y");
  ASSERT_EQ(c.call(y, "echo", {std::int64_t{0}}), pickle::value(0));
  const long before = peak_rss_kib(mux.pid());
  constexpr std::int64_t records = 200000;
  auto flood = c.start(x, "log_burst", {records, std::int64_t{100}});
  double slowest = 0;
  int calls = 0;
  while (!flood->wait(0ms)) {
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(c.call(y, "echo", {std::int64_t{calls}}, 10s), pickle::value(calls));
    slowest = std::max(
        slowest, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    ++calls;
  }
  auto done = flood->wait(60s);
  ASSERT_TRUE(done);
  ASSERT_EQ(done->what, call_outcome::kind::result) << done->error;
  EXPECT_GT(calls, 0);
  EXPECT_LT(slowest, 1.0) << "a call to another context waited behind the flood";
  // x is still there, and its last record reached the mux.
  ASSERT_EQ(c.call(x, "echo", {std::int64_t{7}}), pickle::value(7));
  EXPECT_TRUE(
      text_appears([&] { return mux.stderr_text(); }, fmt::format("burst {} ", records - 1), 30s));
  RecordProperty("calls_during_flood", calls);
  RecordProperty("slowest_call_ms", static_cast<int>(slowest * 1000));
  const long after = peak_rss_kib(mux.pid());
  ASSERT_GT(before, 0);
  EXPECT_LT(after - before, 64 * 1024) << "the mux held the flood: " << before << " -> " << after;
  for (const auto& e : mux.events("disconnect"))
    EXPECT_EQ(e.value("errno", ""), "") << "a stream was cut off: " << e.dump();
  stop_mux(mux);
}

TEST_F(contexts, forwarded_log_records_appear_under_the_senders_name) {
  test::mux_process mux(dir_);
  client_node c(mux.socket_path());
  std::uint32_t a = c.context("a");
  c.call(a, "log", {30, pickle::text{"warning from a \xc3\xbc"}});
  c.call(a, "log", {10, pickle::text{"debug from a"}});
  auto b_id = c.call(a, "start_child", {pickle::text{"b"}});
  ASSERT_TRUE(b_id.is<std::int64_t>());
  auto b = static_cast<std::uint32_t>(*b_id.get<std::int64_t>());
  c.call(b, "log", {40, pickle::text{"error from b"}});
  c.call(a, "log", {20, pickle::text{"last from a"}});
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); }, "a: faultmux: last from a"));
  std::string err = mux.stderr_text();
  EXPECT_NE(err.find("warning: a: faultmux: warning from a \xc3\xbc"), std::string::npos) << err;
  EXPECT_NE(err.find("error: a: faultmux: b: faultmux: error from b"), std::string::npos) << err;
  // Any bytes in a record are decoded so that no sequence can fail: a lone
  // surrogate (CESU bytes ED A0 80, which str allows) arrives as U+FFFD.
  c.call(a, "log", {30, pickle::text{"odd \xed\xa0\x80 text"}});
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); }, "a: faultmux: odd "));
  err = mux.stderr_text();
  EXPECT_TRUE(pickle::utf8::check(err, false).ok)
      << "the mux wrote invalid UTF-8 at " << pickle::utf8::check(err, false).bad_offset;
  EXPECT_NE(err.find("a: faultmux: odd \xef\xbf\xbd"), std::string::npos) << err;
  // A call nobody waits for that fails is logged where it ran, and so at the mux.
  c.calls().call_no_reply(spec_of(a, "fail", {pickle::text{"nobody hears"}}));
  EXPECT_TRUE(text_appears(
      [&] { return mux.stderr_text(); },
      fmt::format("error: a: faultmux: call faultmux.builtins.fail from context {} (no reply "
                  "wanted) failed: faultmux.CallFailed: faultmux.builtins.fail: nobody hears",
                  c.id())))
      << mux.stderr_text();
  err = mux.stderr_text();
  // Without -v, a's debug records are not even sent.
  EXPECT_EQ(err.find("debug from a"), std::string::npos) << err;
  // Warnings and errors are events as well, under the sender's name.
  auto logged = mux.events("log");
  auto has = [&](const std::string& level, const std::string& msg) {
    for (const auto& e : logged)
      if (e.value("level", "") == level && e.value("msg", "") == msg) return true;
    return false;
  };
  EXPECT_TRUE(has("warning", "a: faultmux: warning from a \xc3\xbc"));
  EXPECT_TRUE(has("error", "a: faultmux: b: faultmux: error from b"));
  stop_mux(mux);
}

TEST_F(contexts, vv_given_to_the_mux_reaches_a_grandchild) {
  test::mux_process mux(dir_, {"-vv"});
  client_node c(mux.socket_path());
  std::uint32_t a = c.context("a");
  auto b_id = c.call(a, "start_child", {pickle::text{"b"}});
  ASSERT_TRUE(b_id.is<std::int64_t>());
  auto b = static_cast<std::uint32_t>(*b_id.get<std::int64_t>());
  EXPECT_EQ(c.call(b, "echo", {1}), pickle::value(1));
  // b's own debug lines, through a, at the mux.
  EXPECT_TRUE(text_appears([&] { return mux.stderr_text(); },
                           fmt::format("a: faultmux: b: faultmux: context b (id {}) up", b)))
      << mux.stderr_text();
  EXPECT_TRUE(text_appears(
      [&] { return mux.stderr_text(); },
      fmt::format("a: faultmux: b: faultmux: calling faultmux.builtins.echo for context {}",
                  c.id())));
  // And b was told so on its command line.
  auto b_pid = pid_of_child(mux.events_path(), "b");
  ASSERT_TRUE(b_pid);
  auto p = read_proc(*b_pid);
  ASSERT_TRUE(p);
  EXPECT_NE(p->cmdline.find(" -v -v"), std::string::npos) << p->cmdline;
  stop_mux(mux);
}

}  // namespace
}  // namespace faultmux
