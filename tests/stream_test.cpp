// Streams and routing through a real `faultmux mux` process: one broken
// stream must cost only itself (a worker that dies mid-frame or awaiting a
// reply, a slow reader, an oversize body, a stalled client's neighbours),
// and the mux's own dead replies must carry Mitogen's reasons.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "mux/events.hpp"
#include "mux/frame.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sanitizers.hpp"
#include "tests/support/stream_support.hpp"
#include "wire/protocol.hpp"

namespace faultmux::test::streams {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t mib = std::size_t{1024} * 1024;

bool is_peer_gone_errno(const std::string& name) {
  return name == "EPIPE" || name == "ECONNRESET";
}

// Every stream but `allowed` that disconnected did so cleanly (EOF or a
// requested close), and every warning or error the mux logged names `allowed`.
void expect_only_stream_hurt(const mux_process& mux, const std::string& allowed) {
  for (const json& e : mux.events()) {
    if (str(e, "event") == "disconnect" && str(e, "stream") != allowed) {
      EXPECT_EQ(str(e, "errno"), "") << "another stream was hurt: " << e.dump();
    }
    if (is_problem_log(e)) {
      EXPECT_NE(str(e, "msg").find(allowed + ":"), std::string::npos)
          << "unexpected problem: " << e.dump();
    }
  }
}

// The worker processes must still be running: nothing that happened to
// another stream may have reached them.
void expect_running(std::vector<echo_worker>& workers) {
  for (auto& w : workers)
    EXPECT_FALSE(w.proc.wait(0ms).has_value()) << "echo worker " << w.id << " exited";
}

// The checked workloads were still running when `when` (a mux event's time)
// happened, or the isolation they show is no isolation at all.
void expect_running_at(const load_group& load, const json& when) {
  auto first = load.first_done();
  ASSERT_TRUE(first) << "no workload reported its end";
  ::testing::Test::RecordProperty("workload_margin_ms",
                                  static_cast<int>((*first - when.value("t", 0.0)) * 1000));
  EXPECT_GT(*first, when.value("t", 0.0)) << "a workload was over before " << when.dump();
}

// Row 7/10: a client that closes its socket while the mux is writing it a
// large reply is one EPIPE/ECONNRESET on one stream, nothing more.
TEST(stream_isolation, epipe_on_one_client_leaves_fifty_workloads_untouched) {
  run_dir dir;
  mux_process mux(dir, {"--backlog", "128"});
  std::vector<echo_worker> echoes;
  echoes.reserve(5);
  for (int i = 0; i < 5; ++i) echoes.push_back(start_worker(mux.socket_path()));
  load_group load(dir, mux.socket_path(), echoes, 50, 3000);

  raw_client victim = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  ASSERT_TRUE(victim.send(to(echoes[0].id, 1000, pattern(1, 8 * mib), 1000), 30s, false));
  // The echo has started to arrive, so the mux holds most of its 8 MiB
  // queued for this stream when the socket goes away unread.
  ASSERT_TRUE(victim.wait_readable(30s));
  victim.close();

  auto gone = mux.wait_event(disconnect_of(victim.stream_name()), 10s);
  ASSERT_TRUE(gone) << "the mux never disconnected " << victim.stream_name();
  EXPECT_TRUE(is_peer_gone_errno(str(*gone, "errno"))) << gone->dump();
  EXPECT_GT((*gone)["dropped_bytes"].get<long>(), 0)
      << "the mux was not writing the reply: " << gone->dump();
  EXPECT_TRUE(mux.wait_event(problem_naming(victim.stream_name(), {"EPIPE", "ECONNRESET"}), 5s))
      << "no error naming " << victim.stream_name() << " and its errno";

  EXPECT_EQ(load.clean_exits(60s), 50) << "a checked workload failed";
  expect_running_at(load, *gone);
  expect_running(echoes);
  raw_client probe = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  EXPECT_TRUE(echo_round_trip(probe, echoes[1].id, "probe after EPIPE"));
  expect_only_stream_hurt(mux, victim.stream_name());
}

// Row 10: a worker SIGKILLed while the mux writes it a large reply; replies
// that arrive for it afterwards are dropped without noise.
TEST(stream_isolation, worker_killed_mid_reply_is_dropped_quietly) {
  run_dir dir;
  mux_process mux(dir);
  std::vector<echo_worker> echoes;
  echoes.push_back(start_worker(mux.socket_path()));
  load_group load(dir, mux.socket_path(), echoes, 8, 10000);

  raw_client responder = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  // The victim asks the responder one question and waits for the answer.
  echo_worker victim = start_worker(mux.socket_path(), {"--peer", std::to_string(responder.id()),
                                                        "--count", "1", "--size", "64"});
  const std::string victim_stream = "unix_client." + std::to_string(victim.proc.pid());
  auto request = responder.receive(10s);
  ASSERT_TRUE(request);
  ASSERT_EQ(request->src_id, victim.id);
  ASSERT_NE(request->reply_to, 0u);

  // Stopped, the victim cannot drain its socket: the 8 MiB answer stays in
  // the mux's queue for it.
  victim.proc.signal(SIGSTOP);
  ASSERT_TRUE(responder.send(to(victim.id, request->reply_to, pattern(2, 8 * mib)), 30s));
  ASSERT_TRUE(sync_with_mux(responder));
  double killed_at = events::now();
  victim.proc.signal(SIGKILL);
  auto st = victim.proc.wait(5s);
  ASSERT_TRUE(st && WIFSIGNALED(*st)) << status_text(st);

  auto gone = mux.wait_event(disconnect_of(victim_stream), 10s);
  ASSERT_TRUE(gone) << "the mux never disconnected " << victim_stream;
  EXPECT_TRUE(is_peer_gone_errno(str(*gone, "errno"))) << gone->dump();
  EXPECT_GT((*gone)["dropped_bytes"].get<long>(), 0)
      << "the mux was not writing the reply: " << gone->dump();
  EXPECT_TRUE(mux.wait_event(problem_naming(victim_stream, {"EPIPE", "ECONNRESET"}), 5s));

  // Replies still in flight toward the dead worker: dropped, no dead
  // messages bounce back (they carry no reply_to), nothing logged.
  std::vector<message> seen;
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(responder.send(to(victim.id, request->reply_to, pattern(i, 4096))));
  ASSERT_TRUE(sync_with_mux(responder, &seen));
  EXPECT_TRUE(seen.empty()) << seen.size() << " unexpected messages, first: " << seen.front().data;
  auto after = filter(mux.events(), [&](const json& e) { return e.value("t", 0.0) >= killed_at; });
  EXPECT_LE(filter(after, is_problem_log).size(), 2u) << "error storm after the kill";
  for (const json& e : filter(after, [&](const json& e) { return str(e, "event") == "dead"; })) {
    bool sync_answer =
        str(e, "reason") == reason::invalid_handle && e.value("dst", 0u) == responder.id();
    if (!sync_answer) ADD_FAILURE() << "dead message after the kill: " << e.dump();
  }

  EXPECT_EQ(load.clean_exits(60s), 8) << "a checked workload failed";
  expect_running_at(load, *gone);
  expect_running(echoes);
  EXPECT_TRUE(echo_round_trip(responder, echoes[0].id, "still routing"));
  expect_only_stream_hurt(mux, victim_stream);
}

// Rows 12-14 against a mux with a 1 MiB message limit.
class frame_receive : public ::testing::Test {
 protected:
  static constexpr std::uint64_t max_size = 1048576;

  void SetUp() override {
    mux_.emplace(dir_, std::vector<std::string>{"--max-message-size", std::to_string(max_size)});
    workers_.push_back(start_worker(mux_->socket_path()));
    echo_ = workers_[0].id;
    client_.emplace(raw_client::connect_as(mux_->socket_path(), raw_client::fake_pid()));
    ASSERT_TRUE(echo_round_trip(*client_, echo_, "warm up"));
  }

  // A frame as it goes on the wire from c.
  static std::string frame_from(const raw_client& c, message m) {
    m.src_id = m.auth_id = c.id();
    return encode_frame(m);
  }

  // c's stream was disconnected for a protocol error whose text contains
  // `wording`, and the error names the stream.
  void expect_protocol_disconnect(raw_client& c, const std::string& wording) {
    EXPECT_TRUE(c.wait_closed(5s)) << c.stream_name() << " was not closed by the mux";
    auto logged = mux_->wait_event(problem_naming(c.stream_name(), {wording}), 5s);
    EXPECT_TRUE(logged) << "no error `" << wording << "` naming " << c.stream_name();
    auto gone = mux_->wait_event(disconnect_of(c.stream_name()), 5s);
    ASSERT_TRUE(gone);
    EXPECT_EQ(str(*gone, "errno"), "EPROTO");
    EXPECT_TRUE(mux_->wait_event(
        [&](const json& e) {
          return str(e, "event") == "protocol_error" && str(e, "stream") == c.stream_name() &&
                 str(e, "detail").find(wording) != std::string::npos;
        },
        1s));
  }

  // The test's own client and the echo worker are still fine, and exactly
  // `hurt` streams (the ones the test broke) were disconnected.
  void expect_others_fine(std::size_t hurt) {
    EXPECT_TRUE(echo_round_trip(*client_, echo_, "still fine", 4321));
    expect_running(workers_);
    const std::string echo_stream = "unix_client." + std::to_string(workers_[0].proc.pid());
    auto gone =
        filter(mux_->events(), [](const json& e) { return str(e, "event") == "disconnect"; });
    EXPECT_EQ(gone.size(), hurt);
    for (const json& e : gone) {
      EXPECT_NE(str(e, "stream"), client_->stream_name()) << e.dump();
      EXPECT_NE(str(e, "stream"), echo_stream) << e.dump();
    }
  }

  run_dir dir_;
  std::optional<mux_process> mux_;
  std::vector<echo_worker> workers_;
  std::uint32_t echo_ = 0;
  std::optional<raw_client> client_;
};

TEST_F(frame_receive, bad_magic_disconnects_only_that_stream) {
  std::string header = frame_from(*client_, to(echo_, 1000, "", 1)).substr(0, header_size);
  header[0] = 0x12;
  header[1] = 0x34;
  std::string garbage = pattern(7, 4096);
  garbage[0] = 0;  // never a valid magic
  const std::vector<std::string> inputs{header, "ionWarning: stray shell output on the stream\n",
                                        garbage};

  std::vector<raw_client> bad;
  for (const auto& bytes : inputs) {
    bad.push_back(raw_client::connect_as(mux_->socket_path(), raw_client::fake_pid()));
    // Live first: the stream has routed a message before it goes bad.
    ASSERT_TRUE(echo_round_trip(bad.back(), echo_, "live"));
    ASSERT_TRUE(bad.back().write(bytes));
  }
  for (auto& c : bad)
    expect_protocol_disconnect(c, "Corruption detected: frame signature incorrect");
  expect_others_fine(bad.size());
}

TEST_F(frame_receive, oversized_data_len_disconnects_without_allocating) {
  long rss_before = mux_->rss_kib(), peak_before = mux_->peak_rss_kib();
  ASSERT_GT(rss_before, 0);
  for (std::uint64_t len : {max_size + 1, std::uint64_t{0xFFFFFFFF}}) {
    raw_client c = raw_client::connect_as(mux_->socket_path(), raw_client::fake_pid());
    ASSERT_TRUE(echo_round_trip(c, echo_, "live"));
    std::string header = frame_from(c, to(echo_, 1000, "", 1)).substr(0, header_size);
    for (int i = 0; i < 4; ++i) header[22 + i] = static_cast<char>(len >> (24 - 8 * i));
    // Some body follows, as from a peer that means it: none may be buffered.
    ASSERT_TRUE(c.write(header + pattern(len, std::size_t{64} * 1024)));
    expect_protocol_disconnect(c, "Maximum message size exceeded (got " + std::to_string(len) +
                                      ", max " + std::to_string(max_size) + ")");
  }
  // Allocating either body would show: 1 MiB or 4 GiB.
  long rss_after = mux_->rss_kib(), peak_after = mux_->peak_rss_kib();
  RecordProperty("peak_rss_growth_kib", static_cast<int>(peak_after - peak_before));
  EXPECT_LT(rss_after - rss_before, 512 * memory_slack)
      << "VmRSS " << rss_before << " -> " << rss_after << " KiB";
  EXPECT_LT(peak_after - peak_before, 512 * memory_slack)
      << "VmHWM " << peak_before << " -> " << peak_after << " KiB";
  expect_others_fine(2);
}

TEST_F(frame_receive, header_in_single_bytes_and_body_split_everywhere_arrive_intact) {
  raw_client& c = *client_;
  // The header one byte per read: the mux has consumed each byte before the next is sent.
  std::string body = pattern(3, 300);
  std::string frame = frame_from(c, to(echo_, 1000, body, 5000));
  for (std::size_t i = 0; i < header_size; ++i) {
    ASSERT_TRUE(c.write(frame.substr(i, 1)));
    ASSERT_TRUE(c.wait_drained());
  }
  ASSERT_TRUE(c.write(frame.substr(header_size)));
  EXPECT_TRUE(expect_echo(c, echo_, body, 5000));

  // A small frame split in two at every byte boundary.
  body = pattern(4, 100);
  for (std::size_t k = 1; k < header_size + body.size(); ++k) {
    std::uint32_t reply_to = 5001 + static_cast<std::uint32_t>(k);
    frame = frame_from(c, to(echo_, 1000, body, reply_to));
    ASSERT_TRUE(c.write(frame.substr(0, k)));
    ASSERT_TRUE(c.wait_drained());
    ASSERT_TRUE(c.write(frame.substr(k)));
    ASSERT_TRUE(expect_echo(c, echo_, body, reply_to)) << "split at byte " << k;
  }

  // A body larger than the mux's read size, cut around its 64 KiB reads and
  // at odd places, each piece consumed before the next.
  body = pattern(5, std::size_t{300} * 1024);
  frame = frame_from(c, to(echo_, 1000, body, 5500));
  std::vector<std::size_t> cuts{1,          25,    26,     27,     4096,   65535,  65536, 65537,
                                65536 + 26, 99991, 131072, 131099, 200000, 262144, 300000};
  cuts.push_back(frame.size() - 1);
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    ASSERT_TRUE(c.write(std::string_view(frame).substr(at, cut - at)));
    ASSERT_TRUE(c.wait_drained());
    at = cut;
  }
  ASSERT_TRUE(c.write(std::string_view(frame).substr(at)));
  EXPECT_TRUE(expect_echo(c, echo_, body, 5500));
  expect_others_fine(0);
}

TEST_F(frame_receive, many_frames_in_one_write_arrive_in_order) {
  raw_client& c = *client_;
  std::string batch;
  std::vector<std::string> bodies;
  for (int i = 0; i < 1000; ++i) {
    bodies.push_back(pattern(100 + i, static_cast<std::size_t>(i % 700)));  // includes empty bodies
    batch += frame_from(c, to(echo_, 1000, bodies.back(), 6000));
  }
  ASSERT_TRUE(c.write(batch, 20s));
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(expect_echo(c, echo_, bodies[i], 6000)) << "message " << i;
  expect_others_fine(0);
}

TEST_F(frame_receive, frame_of_exactly_the_maximum_size_is_delivered) {
  std::string body = pattern(6, max_size);
  EXPECT_TRUE(echo_round_trip(*client_, echo_, body, 7000, 20s));
  expect_others_fine(0);
}

// Every stream reads into the mux's one read buffer: a frame half-received
// on each of many streams stays whole while the others' reads reuse it.
TEST_F(frame_receive, half_frames_on_many_streams_survive_the_shared_read_buffer) {
  std::vector<raw_client> clients;
  std::vector<std::string> frames, bodies;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(raw_client::connect_as(mux_->socket_path(), raw_client::fake_pid()));
    // From a few bytes of header to most of a body bigger than one read.
    bodies.push_back(pattern(200 + i, static_cast<std::size_t>(i % 2 ? 100 : 90000) + i));
    frames.push_back(frame_from(clients.back(), to(echo_, 1000, bodies.back(), 8000 + i)));
  }
  auto cut = [&](int i) { return std::min<std::size_t>(frames[i].size() - 1, 3 + i * 4999); };
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(clients[i].write(std::string_view(frames[i]).substr(0, cut(i))));
    ASSERT_TRUE(clients[i].wait_drained());
  }
  for (int i = 19; i >= 0; --i) ASSERT_TRUE(clients[i].write(frames[i].substr(cut(i))));
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(expect_echo(clients[i], echo_, bodies[i], 8000 + i)) << "client " << i;
  expect_others_fine(0);
}

// An idle stream holds no read buffer of its own: 300 clients that each
// routed a message (so each stream has read) cost the mux little memory each.
TEST_F(frame_receive, idle_streams_hold_no_read_buffer) {
  constexpr int n = 300;
  std::vector<raw_client> clients;
  clients.reserve(n);
  long rss_before = mux_->rss_kib();
  ASSERT_GT(rss_before, 0);
  for (int i = 0; i < n; ++i) {
    clients.push_back(raw_client::connect_as(mux_->socket_path(), raw_client::fake_pid()));
    ASSERT_TRUE(echo_round_trip(clients.back(), echo_, pattern(300 + i, 2000)));
  }
  long grown = mux_->rss_kib() - rss_before;
  RecordProperty("rss_kib_per_idle_stream", static_cast<int>(grown / n));
  // A 64 KiB buffer per stream would be 19 MiB here.
  EXPECT_LT(grown, n * 16 * memory_slack)
      << "VmRSS grew " << grown << " KiB for " << n << " idle streams";
  expect_others_fine(0);
}

// Row 27: a reader that never drains its socket is disconnected at the
// output cap, with an error naming it; the mux's memory stays bounded.
TEST(slow_reader, is_disconnected_at_the_output_cap_with_memory_bounded) {
  run_dir dir;
  const std::size_t cap = 1 * mib;
#if defined(__SANITIZE_ADDRESS__)
  // ASan's quarantine keeps freed buffers resident (256 MiB by default), so
  // the 64 MiB passing through would count against the mux: without it the
  // bound is again one of faultmux. For the processes this test starts.
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string options =
      std::string(asan && *asan ? asan : "") + (asan && *asan ? ":" : "") + "quarantine_size_mb=0";
  ::setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
  mux_process mux(dir, {"--output-cap", std::to_string(cap)});
  std::vector<echo_worker> echoes;
  echoes.push_back(start_worker(mux.socket_path()));
  load_group load(dir, mux.socket_path(), echoes, 6, 10000);

  raw_client slow = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  raw_client sender = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  long peak_before = mux.peak_rss_kib();
  const int count = 1024;
  const std::size_t size = std::size_t{64} * 1024;  // 64 MiB in all, 64 times the cap
  for (int i = 0; i < count; ++i)
    ASSERT_TRUE(sender.send(to(slow.id(), 1000, pattern(i, size), 7000)));
  std::vector<message> replies;
  ASSERT_TRUE(sync_with_mux(sender, &replies));
  // Everything sent has been through the mux: a queue without a cap would
  // have held all 64 MiB at its peak; with it, about the cap (plus buffers).
  long peak_after = mux.peak_rss_kib();
  RecordProperty("peak_rss_growth_kib", static_cast<int>(peak_after - peak_before));
  EXPECT_LT(peak_after - peak_before, static_cast<long>(4 * memory_slack * cap / 1024))
      << "VmHWM " << peak_before << " -> " << peak_after << " KiB with a " << cap << "-byte cap";

  auto cap_event = mux.wait_event(
      [&](const json& e) {
        return str(e, "event") == "output_cap" && str(e, "stream") == slow.stream_name();
      },
      5s);
  ASSERT_TRUE(cap_event) << "no output_cap event for " << slow.stream_name();
  EXPECT_LE((*cap_event)["queued"].get<std::size_t>(), cap);
  EXPECT_TRUE(mux.wait_event(problem_naming(slow.stream_name(), {"cap"}), 5s));
  auto gone = mux.wait_event(disconnect_of(slow.stream_name()), 5s);
  ASSERT_TRUE(gone);
  EXPECT_EQ(str(*gone, "errno"), "ENOBUFS");
  EXPECT_TRUE(slow.wait_closed(5s));

  // Every request gets exactly one dead reply: those queued or written when
  // the slow reader went, that its respondent disconnected; the later ones,
  // that there is no route.
  const std::string no_route = fmt::format(reason::no_route, slow.id(), 0);
  int disconnected = 0, unroutable = 0;
  for (const message& m : replies) {
    ASSERT_TRUE(m.is_dead()) << "unexpected reply to handle " << m.handle;
    ASSERT_EQ(m.handle, 7000u);
    if (m.data == reason::respondent_disconnected)
      ++disconnected;
    else if (m.data == no_route)
      ++unroutable;
    else
      ADD_FAILURE() << "unexpected dead reason: " << m.data;
  }
  EXPECT_GT(disconnected, 0);
  EXPECT_GT(unroutable, 0);
  EXPECT_EQ(disconnected + unroutable, count);

  EXPECT_EQ(load.clean_exits(60s), 6) << "a checked workload failed";
  expect_running_at(load, *gone);
  expect_running(echoes);
  EXPECT_TRUE(echo_round_trip(sender, echoes[0].id, "sender carries on"));
  expect_only_stream_hurt(mux, slow.stream_name());
}

// Row 26: a request forwarded to a client that then disconnects without
// answering ends at once for the requester.
TEST(dead_peer, requester_gets_a_dead_reply_at_once_when_the_respondent_disconnects) {
  run_dir dir;
  mux_process mux(dir);
  raw_client requester = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  raw_client respondent = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  ASSERT_TRUE(requester.send(to(respondent.id(), 1000, "a question never answered", 8000)));
  auto question = respondent.receive(5s);
  ASSERT_TRUE(question);
  EXPECT_EQ(question->src_id, requester.id());
  EXPECT_EQ(question->reply_to, 8000u);

  auto t0 = std::chrono::steady_clock::now();
  respondent.close();
  auto dead = requester.receive(5s);
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(dead) << "the requester was never told";
  EXPECT_TRUE(dead->is_dead());
  EXPECT_EQ(dead->handle, 8000u);
  EXPECT_EQ(dead->dst_id, requester.id());
  EXPECT_EQ(dead->data, reason::respondent_disconnected);
  auto waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(waited).count();
  RecordProperty("dead_reply_ms", static_cast<int>(waited_ms));
  EXPECT_LT(waited_ms, 300) << "the dead reply took " << waited_ms << " ms";
  EXPECT_TRUE(mux.wait_event(
      [&](const json& e) {
        return str(e, "event") == "dead" && str(e, "reason") == reason::respondent_disconnected &&
               e.value("dst", -1) == static_cast<long>(requester.id()) &&
               e.value("handle", -1) == 8000;
      },
      2s));
  EXPECT_TRUE(filter(mux.events(), is_problem_log).empty())
      << "a clean disconnect is not a problem";
}

// Row 19: the mux's own dead replies, with Mitogen's reasons.
TEST(dead_messages, from_the_mux_carry_mitogens_reasons) {
  run_dir dir;
  mux_process mux(dir);
  raw_client c = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  ASSERT_EQ(c.mux_id(), 0u);
  auto expect_dead = [&](const message& m, std::uint32_t reply_to, const std::string& why) {
    ASSERT_TRUE(c.send(m));
    auto d = c.receive(5s);
    ASSERT_TRUE(d) << "no dead reply for " << why;
    EXPECT_TRUE(d->is_dead());
    EXPECT_EQ(d->dst_id, c.id());
    EXPECT_EQ(d->src_id, 0u);
    EXPECT_EQ(d->handle, reply_to);
    EXPECT_EQ(d->data, why);
  };
  expect_dead(to(4242, 1000, "to nobody", 9001), 9001, "no route to 4242, my ID is 0");
  expect_dead(to(0, 4321, "to no handle", 9002), 9002, reason::invalid_handle);

  // A context that was there and is gone.
  raw_client gone = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  std::uint32_t gone_id = gone.id();
  gone.close();
  ASSERT_TRUE(mux.wait_event(disconnect_of(gone.stream_name()), 5s));
  expect_dead(to(gone_id, 1000, "too late", 9003), 9003, fmt::format(reason::no_route, gone_id, 0));

  // Without reply_to nobody is told, and nothing else comes back.
  ASSERT_TRUE(c.send(to(4242, 1000, "to nobody, no reply wanted")));
  ASSERT_TRUE(c.send(to(0, 4321, "to no handle, no reply wanted")));
  std::vector<message> seen;
  ASSERT_TRUE(sync_with_mux(c, &seen));
  EXPECT_TRUE(seen.empty()) << "unexpected: " << seen.front().data;
}

}  // namespace
}  // namespace faultmux::test::streams
