#include "mux/broker.hpp"

#include <cassert>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "mux/log.hpp"

namespace faultmux {

struct timer_handle::state {
  explicit state(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
  std::function<void()> fn;
};

void timer_handle::cancel() {
  if (!state_) return;
  state_->fn = nullptr;
  state_->timer.cancel();
  state_.reset();
}

namespace {

void guarded(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    spdlog::error("broker: deferred call failed: {}", e.what());
  }
}

}  // namespace

broker::broker() : io_(std::make_unique<boost::asio::io_context>(1)) {}

std::span<std::uint8_t> broker::read_buffer() {
  constexpr std::size_t read_chunk = std::size_t{64} * 1024;
  if (read_buffer_.size() < read_chunk) read_buffer_.resize(read_chunk);
  return read_buffer_;
}

std::string broker::take_run() {
  constexpr std::size_t run_room = std::size_t{16} * 1024;
  if (spare_runs_.empty()) {
    std::string run;
    run.reserve(run_room);
    return run;
  }
  std::string run = std::move(spare_runs_.back());
  spare_runs_.pop_back();
  return run;
}

void broker::give_run(std::string run) {
  // Enough for every stream one wakeup writes to; the rest are freed.
  constexpr std::size_t max_spare_runs = 64;
  constexpr std::size_t max_spare_room = std::size_t{64} * 1024;
  if (spare_runs_.size() >= max_spare_runs || run.capacity() > max_spare_room) return;
  run.clear();
  spare_runs_.push_back(std::move(run));
}

std::vector<message> broker::take_received() {
  return std::exchange(spare_received_, {});
}

void broker::give_received(std::vector<message> received) {
  // A burst of tiny frames may leave a huge array: keep a usual one only.
  constexpr std::size_t max_spare_messages = 4096;
  if (received.capacity() > max_spare_messages) return;
  received.clear();
  spare_received_ = std::move(received);
}

void broker::uncork() {
  if (--corks_ > 0) return;
  // Nothing is queued while they run (uncorked, sends write at once). The
  // two vectors trade places so neither gives its room back each wakeup.
  assert(uncorking_.empty());  // never corked again from inside a flush
  std::swap(at_uncork_, uncorking_);
  for (auto& fn : uncorking_) fn();
  uncorking_.clear();
}

broker::~broker() {
  stop();
  join();
}

void broker::start() {
  thread_ = std::thread([this] { run(); });
}

void broker::run() {
  loop_thread_id_ = std::this_thread::get_id();
  auto work = boost::asio::make_work_guard(*io_);
  io_->run();
  *exited_ = true;
  loop_thread_id_ = std::thread::id{};
}

void broker::stop() {
  io_->stop();
}

void broker::join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool broker::defer(std::function<void()> fn) {
  if (*exited_) return false;
  boost::asio::post(*io_, [fn = std::move(fn)] { guarded(fn); });
  return true;
}

timer_handle broker::after(std::chrono::nanoseconds d, std::function<void()> fn) {
  timer_handle h;
  h.state_ = std::make_shared<timer_handle::state>(*io_);
  h.state_->fn = std::move(fn);
  h.state_->timer.expires_after(d);
  h.state_->timer.async_wait([s = h.state_](const boost::system::error_code& ec) {
    if (ec || !s->fn) return;
    auto fn = std::move(s->fn);
    s->fn = nullptr;
    guarded(fn);
  });
  return h;
}

}  // namespace faultmux
