// A stream's lifecycle on its own broker and a socketpair: what
// close_gracefully reports once the stream is closing, failing or closed.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "mux/broker.hpp"
#include "mux/fd.hpp"
#include "mux/frame.hpp"
#include "mux/stream.hpp"

namespace faultmux::test::stream_state {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t big = std::size_t{8} * 1024 * 1024;  // far beyond a socket buffer

message to_peer(std::size_t size) {
  message m;
  m.dst_id = 1;
  m.handle = 100;
  m.data.assign(size, 'x');
  return m;
}

// A started stream on one end of a socketpair whose other end nobody reads
// until drain() is called.
struct fixture {
  explicit fixture(stream_options opts = {}) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0) << "socketpair: errno " << errno;
    s = stream::create(b, unique_fd(sv[0]), "state_test", opts);
    peer = unique_fd(sv[1]);
  }
  ~fixture() {
    if (drainer.joinable()) drainer.join();
  }

  // Runs fn on the broker thread, then the loop until stop() or 10 s.
  void run(std::function<void()> fn) {
    b.defer([this, fn = std::move(fn)] {
      s->start(
          [this](stream& from, message m) {
            if (on_message) on_message(from, std::move(m));
          },
          [this](stream&, int err) { close_errs.push_back(err); });
      fn();
    });
    auto watchdog = b.after(10s, [this] {
      timed_out = true;
      b.stop();
    });
    b.run();
    watchdog.cancel();
  }

  // Reads the peer end to EOF on another thread.
  void drain() {
    drainer = std::thread([fd = peer.get()] {
      std::vector<char> buf(std::size_t{1} << 16);
      while (::read(fd, buf.data(), buf.size()) > 0) {
      }
    });
  }

  // Bytes waiting at the peer end, not read.
  std::size_t waiting_at_peer() const {
    std::vector<char> buf(std::size_t{1} << 20);
    ssize_t n = ::recv(peer.get(), buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }

  broker b;
  std::shared_ptr<stream> s;
  std::function<void(stream&, message)> on_message;
  unique_fd peer;
  std::thread drainer;
  std::vector<int> close_errs;
  bool timed_out = false;
};

TEST(stream_state, graceful_close_of_a_stream_that_dropped_its_output_reports_no_flush) {
  fixture f;
  std::optional<bool> flushed;
  f.run([&] {
    f.s->send(to_peer(big));
    ASSERT_GT(f.s->queued_bytes(), 0u) << "the socket took the whole message";
    f.s->close(ECONNRESET, "peer reset");
    f.s->close_gracefully(1s, [&](bool ok) {
      flushed = ok;
      f.b.stop();
    });
  });
  ASSERT_FALSE(f.timed_out);
  ASSERT_TRUE(flushed.has_value()) << "done never ran";
  EXPECT_FALSE(*flushed) << "reported a flush of output the earlier close dropped";
  EXPECT_EQ(f.close_errs, std::vector<int>{ECONNRESET});
}

TEST(stream_state, graceful_close_of_a_cleanly_closed_stream_reports_the_flush) {
  fixture f;
  std::optional<bool> flushed;
  f.run([&] {
    f.s->send(to_peer(64));
    f.s->close_gracefully(1s, [&](bool first) {
      EXPECT_TRUE(first);
      EXPECT_TRUE(f.s->closed());
      f.s->close_gracefully(1s, [&](bool ok) {
        flushed = ok;
        f.b.stop();
      });
    });
  });
  ASSERT_FALSE(f.timed_out);
  ASSERT_TRUE(flushed.has_value()) << "done never ran";
  EXPECT_TRUE(*flushed);
  EXPECT_EQ(f.close_errs, std::vector<int>{0});
}

TEST(stream_state, second_graceful_close_while_flushing_answers_both_callers) {
  fixture f;
  std::vector<bool> answers;
  f.run([&] {
    f.s->send(to_peer(big));
    ASSERT_GT(f.s->queued_bytes(), 0u);
    auto done = [&](bool ok) {
      answers.push_back(ok);
      if (answers.size() == 2) f.b.stop();
    };
    f.s->close_gracefully(5s, done);
    f.s->close_gracefully(5s, done);
    f.drain();
  });
  EXPECT_FALSE(f.timed_out) << "a caller of close_gracefully was never answered";
  EXPECT_EQ(answers, (std::vector<bool>{true, true}));
  EXPECT_EQ(f.close_errs, std::vector<int>{0});
}

TEST(stream_state, second_graceful_close_keeps_the_first_deadline) {
  fixture f;
  std::vector<bool> answers;
  auto started = std::chrono::steady_clock::now();
  f.run([&] {
    f.s->send(to_peer(big));
    auto done = [&](bool ok) {
      answers.push_back(ok);
      if (answers.size() == 2) f.b.stop();
    };
    f.s->close_gracefully(100ms, done);
    f.s->close_gracefully(5s, done);
  });
  EXPECT_FALSE(f.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s) << "the later deadline won";
  EXPECT_EQ(answers, (std::vector<bool>{false, false}));
  EXPECT_EQ(f.close_errs, std::vector<int>{ETIMEDOUT});
}

TEST(stream_state, graceful_close_of_a_failing_stream_waits_for_its_close_and_reports_no_flush) {
  fixture f({.max_message_size = big, .output_cap = 1024});
  std::optional<bool> flushed;
  f.run([&] {
    f.s->send(to_peer(big));   // the first message is queued whatever its size
    f.s->send(to_peer(4096));  // over the cap: a close is deferred
    EXPECT_FALSE(f.s->closed());
    f.s->close_gracefully(5s, [&](bool ok) {
      EXPECT_TRUE(f.s->closed()) << "answered before the stream closed";
      flushed = ok;
      f.b.stop();
    });
  });
  ASSERT_FALSE(f.timed_out);
  ASSERT_TRUE(flushed.has_value()) << "done never ran";
  EXPECT_FALSE(*flushed);
  EXPECT_EQ(f.close_errs, std::vector<int>{ENOBUFS});
}

// Sends while the broker is corked wait in the queue, and go out together
// at the uncork; uncorked, a send writes at once.
TEST(stream_state, sends_while_corked_wait_for_the_uncork) {
  fixture f;
  const std::size_t one = header_size + 64;
  f.run([&] {
    f.b.cork();
    for (int i = 0; i < 3; ++i) f.s->send(to_peer(64));
    EXPECT_EQ(f.s->queued_bytes(), 3 * one);
    EXPECT_EQ(f.waiting_at_peer(), 0u);
    f.b.uncork();
    EXPECT_EQ(f.s->queued_bytes(), 0u);
    EXPECT_EQ(f.waiting_at_peer(), 3 * one);
    f.s->send(to_peer(64));
    EXPECT_EQ(f.waiting_at_peer(), 4 * one);
    f.b.stop();
  });
  ASSERT_FALSE(f.timed_out);
}

// What a stream delivers from one wakeup runs corked: the replies its
// messages cause are written once it has delivered them all.
TEST(stream_state, a_wakeups_messages_are_delivered_corked) {
  fixture f;
  std::vector<bool> corked;
  f.on_message = [&](stream& from, message m) {
    corked.push_back(f.b.corked());
    m.dst_id = m.src_id;
    from.send(std::move(m));
    if (corked.size() == 3) f.b.defer([&] { f.b.stop(); });
  };
  std::string frames;
  for (int i = 0; i < 3; ++i) frames += encode_frame(to_peer(16));
  ASSERT_EQ(::write(f.peer.get(), frames.data(), frames.size()),
            static_cast<ssize_t>(frames.size()));
  f.run([] {});
  ASSERT_FALSE(f.timed_out);
  EXPECT_EQ(corked, (std::vector<bool>{true, true, true}));
  EXPECT_FALSE(f.b.corked());
  EXPECT_EQ(f.waiting_at_peer(), frames.size());
}

}  // namespace
}  // namespace faultmux::test::stream_state
