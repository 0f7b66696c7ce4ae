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

// Small frames are copied into runs of bytes, large ones written from their
// own bodies: whatever the mix, and however the socket splits the writes,
// the peer reads every frame byte for byte and in order.
TEST(stream_state, small_frames_copied_into_runs_and_large_ones_arrive_in_order) {
  fixture f;
  const int small_buffer = 4096;  // many partial writes
  ASSERT_EQ(::setsockopt(f.s->native_handle(), SOL_SOCKET, SO_SNDBUF, &small_buffer,
                         sizeof(small_buffer)),
            0);
  std::vector<std::size_t> sizes = {0, 1, 64, 4096 - header_size, 4097 - header_size, 200000, 3};
  for (int i = 0; i < 1500; ++i) sizes.push_back(40 + static_cast<std::size_t>(i % 7));  // > a run
  sizes.push_back(70000);
  std::string expected;
  std::vector<message> sent;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    message m = to_peer(sizes[i]);
    m.handle = static_cast<std::uint32_t>(1000 + i);
    for (std::size_t j = 0; j < m.data.size(); ++j)
      m.data[j] = static_cast<char>('a' + (i + j) % 26);
    expected += encode_frame(m);
    sent.push_back(std::move(m));
  }
  std::string got;
  std::thread reader([&, fd = f.peer.get()] {
    std::vector<char> buf(4096);
    while (got.size() < expected.size()) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n <= 0) break;
      got.append(buf.data(), static_cast<std::size_t>(n));
    }
  });
  f.run([&] {
    f.b.cork();
    for (auto& m : sent) f.s->send(std::move(m));
    f.b.uncork();
    f.s->close_gracefully(10s, [&](bool flushed) {
      EXPECT_TRUE(flushed);
      f.b.stop();
    });
  });
  reader.join();
  ASSERT_FALSE(f.timed_out);
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "frames differ from byte " << [&] {
    std::size_t i = 0;
    while (i < got.size() && i < expected.size() && got[i] == expected[i]) ++i;
    return i;
  }();
}

}  // namespace
}  // namespace faultmux::test::stream_state
