#include "mux/stream.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <deque>
#include <vector>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "mux/broker.hpp"
#include "mux/events.hpp"
#include "mux/frame.hpp"
#include "mux/log.hpp"
#include "wire/event_names.hpp"

namespace faultmux {
namespace {

constexpr int reads_per_wakeup = 16;  // then yield so one busy stream cannot starve the rest
// Frames up to this size are copied, header and body, into one run of bytes
// per stream (up to run_cap), so that a sendmsg writes one iovec rather than
// two per frame: the kernel's per-segment work was most of a small send.
constexpr std::size_t copy_max = 4096;
constexpr std::size_t run_cap = std::size_t{64} * 1024;

// True when poll() says fd is ready for `events` right now.
bool ready_now(int fd, short events) {
  pollfd p{fd, events, 0};
  int n;
  do n = ::poll(&p, 1, 0);
  while (n < 0 && errno == EINTR);
  return n > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
}

// Delay before retrying after an EAGAIN that poll() contradicts: immediate at
// first, then growing so an EAGAIN injected on every call cannot spin a core.
std::chrono::microseconds spurious_backoff(int count) {
  if (count == 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(std::min(5000, 50 << std::min(count, 7)));
}

// Where a stream is in its life; each state is entered once, in this order
// (closing and failing may be skipped, failing may follow closing).
enum class lifecycle : std::uint8_t {
  open,     // reading, and writing what send() queues
  closing,  // close_gracefully flushing the queue under its grace timer
  failing,  // an error was seen and a close deferred: further output dropped
  closed,   // socket closed, queue dropped, callbacks released
};

class stream_impl final : public stream, public std::enable_shared_from_this<stream_impl> {
 public:
  stream_impl(broker& b, unique_fd fd, std::string name, stream_options opts)
      : broker_(b),
        sd_(b.io()),
        name_(std::move(name)),
        opts_(opts),
        decoder_(opts.max_message_size) {
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (!(flags & O_NONBLOCK)) ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
    fd_ = fd.get();
    sd_.assign(fd.release());
  }

  const std::string& name() const override { return name_; }
  std::size_t queued_bytes() const override { return queued_; }
  bool closed() const override { return state_ == lifecycle::closed; }
  int native_handle() const override { return fd_; }

  void start(message_fn on_message, close_fn on_close) override {
    assert(state_ == lifecycle::open && !on_close_);
    on_message_ = std::move(on_message);
    on_close_ = std::move(on_close);
    // Registering reports data that is already there: no read needed yet.
    wait_readable();
  }

  // Never closes synchronously: send() is called from inside the router,
  // which must not see a stream vanish in the middle of its own loops.
  void send(message m) override {
    check_state();
    if (!writing()) {
      spdlog::trace("stream {}: dropping message to {} handle {}: stream closed", name_, m.dst_id,
                    m.handle);
      return;
    }
    std::size_t size = header_size + m.data.size();
    if (queued_ > 0 && queued_ + size > opts_.output_cap) {
      spdlog::error(
          "stream {}: output queue holds {} bytes and a {}-byte message would exceed the cap of "
          "{}: "
          "disconnecting this slow reader",
          name_, queued_, size, opts_.output_cap);
      events::emit(wire::ev::output_cap,
                   {{"stream", name_}, {"queued", queued_}, {"cap", opts_.output_cap}});
      close_later(ENOBUFS, "output cap exceeded");
      return;
    }
    enqueue(m, size);
    queued_ += size;
    if (write_waiting_ || write_retry_ || flush_queued_) return;
    if (broker_.corked()) {
      flush_queued_ = true;
      broker_.when_uncorked([self = shared_from_this()] {
        self->flush_queued_ = false;
        if (self->writing() && !self->write_waiting_ && !self->write_retry_) self->flush(true);
      });
      return;
    }
    flush(true);
  }

  void close(int err, const std::string& why) override {
    check_state();
    if (state_ == lifecycle::closed) return;
    state_ = lifecycle::closed;
    read_retry_.cancel();
    write_retry_.cancel();
    grace_timer_.cancel();
    boost::system::error_code ignored;
    sd_.close(ignored);
    std::size_t dropped = queued_;
    out_.clear();
    queued_ = 0;
    clean_close_ = err == 0 && dropped == 0;
    auto graceful_done = std::exchange(graceful_done_, nullptr);
    events::emit(
        wire::ev::disconnect,
        {{"stream", name_},
         {"errno", err ? std::string(strerrorname_np(err) ? strerrorname_np(err) : "?") : ""},
         {"why", why},
         {"dropped_bytes", dropped}});
    auto self = shared_from_this();  // callbacks may drop the last owner
    if (on_close_) on_close_(*this, err);
    on_message_ = nullptr;
    on_close_ = nullptr;
    if (graceful_done) graceful_done(clean_close_);
  }

  // done(true) only when every queued byte was written before the socket
  // closed; a stream already closed (or closing) reports how that close went.
  void close_gracefully(std::chrono::milliseconds grace, std::function<void(bool)> done) override {
    check_state();
    switch (state_) {
      case lifecycle::closed:
        return done(clean_close_);
      case lifecycle::closing:  // the flush under way, with its deadline, answers both
      case lifecycle::failing:  // the deferred close drops the queue: done(false)
        return also_when_closed(std::move(done));
      case lifecycle::open:
        break;
    }
    if (out_.empty()) {
      close(0, "shutdown");
      done(true);
      return;
    }
    state_ = lifecycle::closing;
    graceful_done_ = std::move(done);
    std::weak_ptr<stream_impl> weak = shared_from_this();
    grace_timer_ = broker_.after(grace, [weak, grace] {
      auto self = weak.lock();
      if (!self || self->state_ == lifecycle::closed) return;
      spdlog::error(
          "stream {}: gave up flushing {} queued bytes after the {} ms shutdown grace period: "
          "force-closing",
          self->name_, self->queued_, grace.count());
      self->close(ETIMEDOUT, "shutdown grace period over");
    });
  }

 private:
  // A frame (its header, then its body), or a run of whole frames copied
  // into `body` (header_len 0), taken from and given back to the broker.
  struct out_item {
    header_bytes header;
    std::string body;
    std::size_t offset = 0;  // bytes of header+body already written
    std::size_t header_len = header_size;
  };

  void enqueue(message& m, std::size_t size) {
    if (size > copy_max) {
      out_.push_back(out_item{encode_header(m), std::move(m.data)});
      return;
    }
    if (out_.empty() || out_.back().header_len != 0 || out_.back().body.size() + size > run_cap)
      out_.push_back(out_item{{}, broker_.take_run(), 0, 0});
    std::string& run = out_.back().body;
    const header_bytes h = encode_header(m);
    run.append(reinterpret_cast<const char*>(h.data()), h.size());
    run.append(m.data);
  }

  // What each state promises; checked where the outside world calls in.
  void check_state() const {
    assert(state_ != lifecycle::closed || (out_.empty() && queued_ == 0 && !graceful_done_));
    assert(state_ != lifecycle::closing || graceful_done_);
    assert(state_ != lifecycle::open || !graceful_done_);
  }

  // Output is accepted and written only while open or flushing for a close.
  bool writing() const { return state_ == lifecycle::open || state_ == lifecycle::closing; }

  // Runs done(flushed) when the close already on its way happens, after
  // any earlier caller's.
  void also_when_closed(std::function<void(bool)> done) {
    if (!graceful_done_) {
      graceful_done_ = std::move(done);
      return;
    }
    graceful_done_ = [first = std::move(graceful_done_), then = std::move(done)](bool flushed) {
      first(flushed);
      then(flushed);
    };
  }

  void wait_readable() {
    if (state_ == lifecycle::closed || read_waiting_) return;
    read_waiting_ = true;
    sd_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     self->read_waiting_ = false;
                     if (!ec && self->state_ != lifecycle::closed) self->read_some();
                   });
  }

  void wait_writable() {
    if (!writing() || write_waiting_) return;
    write_waiting_ = true;
    sd_.async_wait(boost::asio::posix::descriptor_base::wait_write,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     self->write_waiting_ = false;
                     if (!ec && self->writing()) self->flush();
                   });
  }

  // Asio's reactor is edge-triggered: after an EAGAIN that was not true the
  // edge is gone, so ask the kernel directly and retry rather than wait.
  void after_read_eagain() {
    if (ready_now(fd_, POLLIN)) {
      auto delay = spurious_backoff(read_spurious_++);
      spdlog::trace("stream {}: recv said EAGAIN but data is waiting; retrying in {} us", name_,
                    delay.count());
      std::weak_ptr<stream_impl> weak = shared_from_this();
      read_retry_ = broker_.after(delay, [weak] {
        if (auto self = weak.lock()) {
          self->read_retry_ = {};
          if (self->state_ != lifecycle::closed) self->read_some();
        }
      });
      return;
    }
    read_spurious_ = 0;
    wait_readable();
  }

  void after_write_eagain() {
    if (ready_now(fd_, POLLOUT)) {
      auto delay = spurious_backoff(write_spurious_++);
      spdlog::trace("stream {}: send said EAGAIN but the socket has room; retrying in {} us", name_,
                    delay.count());
      std::weak_ptr<stream_impl> weak = shared_from_this();
      write_retry_ = broker_.after(delay, [weak] {
        if (auto self = weak.lock()) {
          self->write_retry_ = {};
          if (self->writing()) self->flush();
        }
      });
      return;
    }
    write_spurious_ = 0;
    wait_writable();
  }

  void read_some() {
    check_state();
    auto self = shared_from_this();
    // What this wakeup's messages send goes out at its end, a send per
    // stream rather than per message (broker::cork).
    broker_.cork();
    struct at_exit {
      broker& b;
      std::vector<message> received;
      ~at_exit() {
        b.give_received(std::move(received));
        b.uncork();
      }
    } scope{broker_, broker_.take_received()};
    for (int i = 0; i < reads_per_wakeup && state_ != lifecycle::closed; ++i) {
      // A large body still to come is read straight into place; anything
      // else into the broker's buffer, of which the decoder keeps only an
      // incomplete frame's bytes.
      std::span<std::uint8_t> shared = broker_.read_buffer();
      std::span<std::uint8_t> direct = decoder_.body_space(shared.size());
      const bool into_body = !direct.empty();
      std::span<std::uint8_t> into = into_body ? direct : shared;
      ssize_t n = ::recv(fd_, into.data(), into.size(), 0);
      if (n > 0) {
        read_spurious_ = 0;
        if (into_body)
          decoder_.commit_body(static_cast<std::size_t>(n), scope.received);
        else
          decoder_.feed(into.first(static_cast<std::size_t>(n)), scope.received);
        deliver(scope.received);
        // A short read drained the socket: wait rather than read again for
        // an EAGAIN (re-arming the wait reports data that came meanwhile).
        if (static_cast<std::size_t>(n) < into.size()) break;
        continue;
      }
      if (n == 0) return on_eof();
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return after_read_eagain();
      return fail("recv", err);
    }
    wait_readable();
  }

  void deliver(std::vector<message>& received) {
    for (message& m : received) {
      if (state_ == lifecycle::closed) break;
      try {
        on_message_(*this, std::move(m));
      } catch (const std::exception& e) {
        spdlog::error("stream {}: message handler failed: {}: disconnecting this stream", name_,
                      e.what());
        close(EPROTO, std::string("handler failed: ") + e.what());
      }
    }
    received.clear();
    if (state_ != lifecycle::closed && decoder_.error() != frame_error::none) {
      spdlog::error("stream {}: {}", name_, decoder_.error_detail());
      events::emit(wire::ev::protocol_error,
                   {{"stream", name_}, {"detail", decoder_.error_detail()}});
      close(EPROTO, decoder_.error_detail());
    }
  }

  void on_eof() {
    std::size_t partial = decoder_.buffered();
    if (partial || queued_) {
      spdlog::error(
          "stream {}: disconnected: EOF with {} bytes of an incomplete frame received and {} bytes "
          "queued for output",
          name_, partial, queued_);
    } else {
      spdlog::debug("stream {}: disconnected: EOF", name_);
    }
    close(0, "EOF");
  }

  void fail(const char* op, int err) {
    // legacy error-disconnect-at-debug: the stream goes, but nobody reading
    // the log at its usual level learns which one or why.
    if (opts_.error_disconnect_at_debug)
      spdlog::debug("stream {}: {} failed: {}: disconnecting", name_, op, errno_text(err));
    else
      spdlog::error("stream {}: {} failed: {}: disconnecting", name_, op, errno_text(err));
    close(err, std::string(op) + " failed");
  }

  void close_later(int err, std::string why) {
    if (!writing()) return;  // already failing or closed
    state_ = lifecycle::failing;
    grace_timer_.cancel();  // the deferred close comes first
    broker_.defer(
        [self = shared_from_this(), err, why = std::move(why)] { self->close(err, why); });
  }

  void flush(bool from_send = false) {
    check_state();
    auto self = shared_from_this();
    while (!out_.empty() && writing()) {
      iovec iov[64];
      int count = 0;
      for (auto it = out_.begin(); it != out_.end() && count < 63; ++it) {
        std::size_t off = it->offset;
        if (off < it->header_len) {
          iov[count++] = {it->header.data() + off, it->header_len - off};
          off = 0;
        } else {
          off -= it->header_len;
        }
        if (it->body.size() > off) iov[count++] = {it->body.data() + off, it->body.size() - off};
      }
      msghdr mh{};
      mh.msg_iov = iov;
      mh.msg_iovlen = static_cast<std::size_t>(count);
      ssize_t n = ::sendmsg(fd_, &mh, MSG_NOSIGNAL);
      if (n < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) return after_write_eagain();
        if (from_send) {
          if (opts_.error_disconnect_at_debug)
            spdlog::debug("stream {}: send failed: {}: disconnecting", name_, errno_text(err));
          else
            spdlog::error("stream {}: send failed: {}: disconnecting", name_, errno_text(err));
          return close_later(err, "send failed");
        }
        return fail("send", err);
      }
      write_spurious_ = 0;
      consume(static_cast<std::size_t>(n));
    }
    if (out_.empty() && state_ == lifecycle::closing) close(0, "shutdown");
  }

  void consume(std::size_t n) {
    queued_ -= n;
    while (n > 0) {
      out_item& front = out_.front();
      std::size_t left = front.header_len + front.body.size() - front.offset;
      if (n < left) {
        front.offset += n;
        return;
      }
      n -= left;
      if (front.header_len == 0) broker_.give_run(std::move(front.body));
      out_.pop_front();
    }
  }

  broker& broker_;
  boost::asio::posix::stream_descriptor sd_;
  int fd_ = -1;
  std::string name_;
  stream_options opts_;
  frame_decoder decoder_;
  std::deque<out_item> out_;
  std::size_t queued_ = 0;
  lifecycle state_ = lifecycle::open;
  bool clean_close_ = false;  // closed with err 0 and nothing left queued
  // The waits are flags beside the lifecycle, not states of it: they only
  // say an async_wait is armed, which any live state may have either way.
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  bool flush_queued_ = false;  // a flush waits for the broker's uncork
  int read_spurious_ = 0;
  int write_spurious_ = 0;
  timer_handle read_retry_, write_retry_, grace_timer_;
  message_fn on_message_;
  close_fn on_close_;
  std::function<void(bool)> graceful_done_;
};

}  // namespace

std::shared_ptr<stream> stream::create(broker& b, unique_fd fd, std::string name,
                                       stream_options opts) {
  return std::make_shared<stream_impl>(b, std::move(fd), std::move(name), opts);
}

}  // namespace faultmux
