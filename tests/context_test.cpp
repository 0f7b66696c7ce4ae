// Contexts and calls: the pieces a parent reads a child's output with, the
// built-in functions answered by a real `faultmux context` started by the
// test process, calls through two hops, deadlines, and start failures; no
// test leaves a zombie or a process behind.

#include <gtest/gtest.h>

#include "tests/support/context_fixture.hpp"

namespace faultmux {
namespace {

// --- the pieces a parent reads a child's output with -----------------------------

TEST(child_output, latin1_decoding_is_total) {
  std::string text = latin1_to_utf8(all_bytes());
  auto check = pickle::utf8::check(text, false);
  EXPECT_TRUE(check.ok) << "invalid UTF-8 at " << check.bad_offset;
  EXPECT_EQ(check.code_points, 256u);
  EXPECT_EQ(latin1_to_utf8("\xe9t\xe9"), "\xc3\xa9t\xc3\xa9");
}

TEST(child_output, line_splitter_cuts_long_lines_and_keeps_memory_bounded) {
  std::vector<std::pair<std::string, bool>> lines;
  line_splitter s(8, [&](std::string_view l, bool cut) { lines.emplace_back(l, cut); });
  s.feed("ab");
  s.feed("c\nd");
  s.feed("e\n\n");
  s.feed("0123456789abcdef");  // 16 bytes, no newline: cut at 8, rest dropped
  EXPECT_LE(s.buffered(), 8u);
  for (int i = 0; i < 1000; ++i) s.feed(std::string(4096, 'x'));
  EXPECT_LE(s.buffered(), 8u);
  s.feed("tail\nnext");
  s.finish();
  std::vector<std::pair<std::string, bool>> want{
      {"abc", false}, {"de", false}, {"", false}, {"01234567", true}, {"next", false}};
  EXPECT_EQ(lines, want);

  // Exactly the limit is a whole line, not a cut one.
  lines.clear();
  line_splitter exact(4, [&](std::string_view l, bool cut) { lines.emplace_back(l, cut); });
  exact.feed("abcd");
  exact.feed("\nefgh\n");
  EXPECT_EQ(lines, (std::vector<std::pair<std::string, bool>>{{"abcd", false}, {"efgh", false}}));
}

// --- calls into a context started by the test process -----------------------------

TEST_F(contexts, every_builtin_answers_through_a_real_context) {
  root_node root(faultmux_children(dir_));
  auto a = root.start("a");
  ASSERT_TRUE(a.info) << a.error;
  const std::uint32_t id = a.info->id;

  // echo: every value type the codec carries comes back equal, bit for bit.
  std::vector<pickle::value> values{
      pickle::none,
      true,
      false,
      0,
      -1,
      std::numeric_limits<std::int64_t>::min(),
      std::numeric_limits<std::int64_t>::max(),
      std::numeric_limits<std::uint64_t>::max(),  // a big int
      pickle::int_from_le(std::string(40, '\x81')),
      3.5,
      -0.0,
      std::numeric_limits<double>::infinity(),
      pickle::text{""},
      pickle::text{"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \x00 end"},
      pickle::bytes{""},
      pickle::bytes{all_bytes()},
      pickle::bytes{all_bytes(4096)},  // 1 MiB
      pickle::tuple{},
      pickle::tuple{{1, pickle::tuple{{2, pickle::tuple{{3, pickle::bytes{"\x00\xff"}}}}}}},
      pickle::list{{1, pickle::list{{pickle::none, pickle::text{"x"}}}, pickle::dict{}}},
      pickle::dict{{{pickle::text{"k"}, pickle::bytes{all_bytes()}},
                    {1, pickle::tuple{{pickle::dict{{{pickle::bytes{"b"}, 2.25}}}}}},
                    {pickle::tuple{{1, 2}}, pickle::list{}}}},
      pickle::blob{all_bytes()},
      pickle::secret{"s\xc3\xa9"
                     "cret"},
      pickle::context_ref{id, "a"},
      pickle::context_ref{7, std::nullopt},
      pickle::sender_ref{id, 1234},
  };
  for (const auto& v : values) {
    pickle::value got;
    ASSERT_NO_THROW(got = root.call(id, "echo", {v})) << pickle::to_string(v);
    EXPECT_EQ(got, v) << "sent " << pickle::to_string(v).substr(0, 200) << "\ngot "
                      << pickle::to_string(got).substr(0, 200);
  }
  // Keyword arguments arrive as well.
  pickle::kwargs kw{{{pickle::text{"x"}, 1}, {pickle::text{"y\xc3\xbc"}, pickle::bytes{"\xff"}}}};
  call_spec all = spec_of(id, "echo_all", {1, pickle::text{"two"}});
  all.kwargs = kw;
  EXPECT_EQ(root.calls().call(all, 30s),
            pickle::value(
                pickle::tuple{{pickle::tuple{{1, pickle::text{"two"}}}, pickle::dict{kw.items}}}));

  // checksum is CRC-32.
  for (const std::string& b : {std::string(), std::string("123456789"), all_bytes(1000)}) {
    auto got = root.call(id, "checksum", {pickle::bytes{b}});
    ASSERT_TRUE(got.is<std::int64_t>()) << pickle::to_string(got);
    EXPECT_EQ(*got.get<std::int64_t>(), reference_crc32(b));
  }
  EXPECT_EQ(reference_crc32("123456789"), 0xcbf43926u);

  // make_bytes: the deterministic payload of that size.
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100000}}) {
    auto got = root.call(id, "make_bytes", {static_cast<std::int64_t>(n)});
    ASSERT_TRUE(got.is<pickle::bytes>());
    EXPECT_EQ(got.get<pickle::bytes>()->data, make_payload(n, n));
  }

  // getpid: the pid the registry started.
  EXPECT_EQ(root.call(id, "getpid"), pickle::value(a.info->pid));
  // caller_ids: the request's ids as the context received them: ours (the
  // root's, 0) as src_id and auth_id.
  EXPECT_EQ(root.call(id, "caller_ids"), pickle::value(pickle::tuple{{0, 0}}));
  auto p = read_proc(a.info->pid);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ppid, ::getpid());

  // sleep: takes its time and returns None.
  double t0 = events::now();
  EXPECT_EQ(root.call(id, "sleep", {200}), pickle::value(pickle::none));
  EXPECT_GE(events::now() - t0, 0.2);

  // fail, an unknown function, a bad argument: CallError with the reason.
  auto error_of = [&](const std::string& module, const std::string& fn,
                      std::vector<pickle::value> args) -> std::string {
    call_spec s = spec_of(id, fn, std::move(args));
    s.module = module;
    try {
      auto v = root.calls().call(s, 30s);
      return "no error: " + pickle::to_string(v);
    } catch (const call_error& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("not a call_error: ") + e.what();
    }
  };
  std::string failed =
      error_of("faultmux.builtins", "fail", {pickle::text{"br\xc3\xbbl\xc3\xa9 on purpose"}});
  EXPECT_NE(failed.find("br\xc3\xbbl\xc3\xa9 on purpose"), std::string::npos) << failed;
  EXPECT_NE(failed.find("faultmux.builtins.fail"), std::string::npos) << failed;
  std::string unknown = error_of("faultmux.builtins", "no_such_function", {});
  EXPECT_NE(unknown.find("no function faultmux.builtins.no_such_function"), std::string::npos)
      << unknown;
  std::string other_module = error_of("os", "system", {pickle::text{"true"}});
  EXPECT_NE(other_module.find("no function os.system"), std::string::npos) << other_module;
  std::string bad_arg = error_of("faultmux.builtins", "checksum", {5});
  EXPECT_NE(bad_arg.find("must be bytes"), std::string::npos) << bad_arg;
  std::string missing_arg = error_of("faultmux.builtins", "echo", {});
  EXPECT_NE(missing_arg.find("echo() missing required argument: 'value'"), std::string::npos)
      << missing_arg;

  // The context still serves after all that.
  EXPECT_EQ(root.call(id, "echo", {pickle::text{"still here"}}), pickle::value("still here"));
}

// Calls to one context run one at a time and are answered in the order they
// were sent, however they are run (a quick function may run on the broker
// thread, sleep runs on the dispatcher's).
TEST_F(contexts, pipelined_calls_are_answered_in_order) {
  root_node root(faultmux_children(dir_));
  auto a = root.start("a");
  ASSERT_TRUE(a.info) << a.error;
  const std::uint32_t id = a.info->id;
  std::vector<std::pair<std::string, std::vector<pickle::value>>> plan;
  for (int round = 0; round < 5; ++round) {
    plan.push_back({"echo", {round}});
    plan.push_back({"sleep", {20}});
    for (int i = 0; i < 5; ++i)
      plan.push_back({"echo", {pickle::text{fmt::format("{}.{}", round, i)}}});
    plan.push_back({"getpid", {}});
    plan.push_back({"checksum", {pickle::bytes{"123456789"}}});
  }
  std::vector<std::shared_ptr<pending_call>> calls;
  for (const auto& [fn, args] : plan)
    calls.push_back(start_call(root.get(), root.calls(), spec_of(id, fn, args)));
  double previous = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    auto o = calls[i]->wait(30s);
    ASSERT_TRUE(o && o->what == call_outcome::kind::result) << i << ": " << describe(o);
    const auto& [fn, args] = plan[i];
    pickle::value want = pickle::none;
    if (fn == "echo") want = args[0];
    if (fn == "getpid") want = a.info->pid;
    if (fn == "checksum") want = 0xcbf43926u;
    EXPECT_EQ(o->result, want) << i << ": " << fn;
    EXPECT_GE(calls[i]->at, previous)
        << "call " << i << " (" << fn << ") answered before call " << i - 1;
    previous = calls[i]->at;
  }
}

// A deadline ends a call that takes longer, once; its late reply is dropped
// and the context serves on.
TEST_F(contexts, a_call_past_its_deadline_ends_as_a_timeout) {
  root_node root(faultmux_children(dir_));
  auto a = root.start("a");
  ASSERT_TRUE(a.info) << a.error;
  double t0 = events::now();
  auto slow = start_call(root.get(), root.calls(), spec_of(a.info->id, "sleep", {400}), 100ms);
  auto o = slow->wait(5s);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->what, call_outcome::kind::timeout) << describe(o);
  EXPECT_EQ(o->error, "no reply within 100 ms");
  EXPECT_GE(slow->at - t0, 0.1);
  EXPECT_LT(slow->at - t0, 0.4);
  // The next call waits for the sleep to end, then is answered; the sleep's
  // own reply, arriving in between, goes nowhere.
  EXPECT_EQ(root.call(a.info->id, "echo", {pickle::text{"after"}}), pickle::value("after"));
  EXPECT_GE(events::now() - t0, 0.4);
  // The receiver side of the API: call_timeout, and the call still ends.
  try {
    root.call(a.info->id, "sleep", {300}, 50ms);
    ADD_FAILURE() << "no call_timeout";
  } catch (const call_timeout& e) {
    EXPECT_EQ(std::string(e.what()), "no reply within 50 ms");
  }
  EXPECT_EQ(root.call(a.info->id, "getpid"), pickle::value(a.info->pid));
}

TEST_F(contexts, a_grandchild_answers_through_two_hops) {
  root_node root(faultmux_children(dir_));
  auto a = root.start("a");
  ASSERT_TRUE(a.info) << a.error;
  auto b_id = root.call(a.info->id, "start_child", {pickle::text{"b"}});
  ASSERT_TRUE(b_id.is<std::int64_t>()) << pickle::to_string(b_id);
  const auto b = static_cast<std::uint32_t>(*b_id.get<std::int64_t>());
  EXPECT_NE(b, a.info->id);

  // a started b: a's child_start event, and /proc, say so.
  auto b_pid = pid_of_child(dir_.file("test.events"), "b");
  ASSERT_TRUE(b_pid);
  auto bp = read_proc(*b_pid);
  ASSERT_TRUE(bp);
  EXPECT_EQ(bp->ppid, a.info->pid);

  // Straight to b through the routes (test -> a -> b) ...
  EXPECT_EQ(root.call(b, "getpid"), pickle::value(*b_pid));
  pickle::value big = pickle::bytes{all_bytes(4096)};
  EXPECT_EQ(root.call(b, "echo", {big}), big);
  // ... and by asking a to call its child.
  EXPECT_EQ(
      root.call(a.info->id, "call_child",
                {static_cast<std::int64_t>(b), pickle::text{"echo"},
                 pickle::tuple{{pickle::tuple{
                     {pickle::text{"via a"}, pickle::bytes{std::string(1, '\0')}}}}}}),
      pickle::value(pickle::tuple{{pickle::text{"via a"}, pickle::bytes{std::string(1, '\0')}}}));
  EXPECT_EQ(root.call(a.info->id, "call_child",
                      {static_cast<std::int64_t>(b), pickle::text{"getpid"}, pickle::tuple{}}),
            pickle::value(*b_pid));
  // An error in b comes back through a as a CallError naming b's failure.
  try {
    root.call(a.info->id, "call_child",
              {static_cast<std::int64_t>(b), pickle::text{"fail"},
               pickle::tuple{{pickle::text{"deep failure"}}}});
    ADD_FAILURE() << "call_child of fail did not fail";
  } catch (const call_error& e) {
    EXPECT_NE(std::string(e.what()).find("deep failure"), std::string::npos) << e.what();
  }
}

// --- start failures ------------------------------------------------------------

class start_failure : public process_hygiene, public testing::Test {
 protected:
  root_node::started start_with(const std::string& program, ms hello_timeout = 10s) {
    children_config cfg = faultmux_children(dir_);
    cfg.program = program;
    cfg.hello_timeout = hello_timeout;
    root_node root(cfg);
    auto s = root.start("doomed");
    EXPECT_FALSE(s.info) << "started: context " << (s.info ? s.info->id : 0);
    // Forgotten once it is reaped.
    EXPECT_TRUE(eventually([&] { return root.child_count() == 0; }, 5s));
    auto zombies = zombie_children_of(::getpid());
    EXPECT_TRUE(zombies.empty()) << "unreaped:" << describe(zombies);
    return s;
  }
};

TEST_F(start_failure, missing_binary_names_the_program) {
  std::string program = dir_.file("no-such-faultmux");
  auto s = start_with(program);
  EXPECT_NE(s.error.find(program), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("No such file or directory"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("doomed"), std::string::npos) << s.error;
}

TEST_F(start_failure, a_program_that_is_not_executable_names_the_program) {
  std::string program = write_script(dir_, "not-executable", "#!/bin/sh\nexit 0\n", 0644);
  auto s = start_with(program);
  EXPECT_NE(s.error.find(program), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("Permission denied"), std::string::npos) << s.error;
}

TEST_F(start_failure, a_child_that_exits_before_its_hello_is_reported_with_its_last_words) {
  std::string program = write_script(
      dir_, "gives-up",
      "#!/bin/sh\necho 'reading config' >&2\necho 'bad config: giving up' >&2\nexit 3\n");
  auto s = start_with(program);
  EXPECT_NE(s.error.find("exited with status 3 before it said hello"), std::string::npos)
      << s.error;
  EXPECT_NE(s.error.find("bad config: giving up"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("reading config"), std::string::npos) << s.error;
}

TEST_F(start_failure, a_silent_child_is_killed_and_reaped_at_the_hello_deadline) {
  std::string program =
      write_script(dir_, "silent", "#!/bin/sh\necho 'warming up' >&2\nexec sleep 30\n");
  double t0 = events::now();
  auto s = start_with(program, 300ms);
  double took = events::now() - t0;
  EXPECT_NE(s.error.find("said nothing within 300 ms"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("warming up"), std::string::npos) << s.error;
  EXPECT_LT(took, 5.0);
  auto pid = pid_of_child(dir_.file("test.events"), "doomed");
  ASSERT_TRUE(pid);
  EXPECT_TRUE(process_gone(*pid));
  auto exited = events_named(dir_.file("test.events"), "child_exit");
  ASSERT_EQ(exited.size(), 1u);
  EXPECT_TRUE(WIFSIGNALED(exited[0]["status"].get<int>()));
}

}  // namespace
}  // namespace faultmux
