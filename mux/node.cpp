#include "mux/node.hpp"

#include <cerrno>

#include <fmt/format.h>
#include <boost/asio/signal_set.hpp>

#include "mux/events.hpp"
#include "mux/log.hpp"
#include "wire/event_names.hpp"

namespace faultmux {

node::node(const node_config& cfg)
    : cfg_(cfg), router_(cfg.routing), next_id_(cfg.routing.context_id + 1) {}

node::~node() {
  // Streams and the listener hold the broker's io_context: release them
  // before it goes. An owner whose callbacks the closes reach has called
  // close_all() already, while those callbacks could still run.
  listener_.reset();
  close_streams("node destroyed");
  signals_.reset();
}

std::size_t node::queued_bytes() const {
  std::size_t n = 0;
  for (const auto& [p, s] : streams_) n += s->queued_bytes();
  return n;
}

void node::close_streams(const std::string& why) {
  auto open = streams_;  // closing a stream erases it from streams_
  for (auto& [p, s] : open) s->close(0, why);
  streams_.clear();
}

void node::close_all(const std::string& why) {
  if (listener_) listener_->close();
  close_streams(why);
  router_.shutdown_handlers();
}

std::shared_ptr<stream> node::attach(unique_fd fd, std::string name, std::uint32_t remote_id,
                                     attach_options opts) {
  auto s = stream::create(broker_, std::move(fd), std::move(name), cfg_.streams);
  streams_[s.get()] = s;
  router_.add_peer(s.get(), remote_id, opts.stamp_auth_id);
  events::emit(wire::ev::stream_open, {{"stream", s->name()}, {"context_id", remote_id}});
  auto first = std::make_shared<std::function<void()>>(std::move(opts.on_first_message));
  s->start(
      [this, first](stream& from, message m) {
        if (*first) std::exchange(*first, nullptr)();
        router_.on_receive(&from, std::move(m));
      },
      [this, on_closed = std::move(opts.on_closed)](stream& gone, int err) {
        auto keep = streams_[&gone];
        router_.on_disconnect(&gone);
        streams_.erase(&gone);
        if (on_closed) on_closed(err);
        if (on_stream_closed) on_stream_closed(gone, err);
      });
  return s;
}

void node::listen(listener_options opts) {
  opts.context_id = router_.context_id();
  listener_ = listener::create(
      broker_, std::move(opts), [this] { return allocate_id(); },
      [this](accepted_client c) {
        if (shutting_down_) return;
        attach(std::move(c.fd), fmt::format("unix_client.{}", c.pid), c.context_id,
               {.stamp_auth_id = router_.context_id(), .on_first_message = {}, .on_closed = {}});
      });
}

void node::shutdown(std::function<void()> done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  spdlog::debug("node: shutting down: {} streams", streams_.size());
  if (listener_) listener_->close();
  auto left = std::make_shared<std::size_t>(streams_.size());
  auto finish = [this, done = std::move(done)] {
    router_.shutdown_handlers();
    events::emit(wire::ev::shutdown_done, {});
    if (done) done();
  };
  if (*left == 0) return finish();
  auto shared_finish = std::make_shared<std::function<void()>>(std::move(finish));
  auto all = streams_;  // closing edits streams_
  for (auto& [p, s] : all) {
    // What each stream still had to write when the shutdown began: the
    // harness judges the flush against it (scenario shutdown-with-clients).
    events::emit(wire::ev::shutdown_stream,
                 {{"stream", s->name()}, {"queued_bytes", s->queued_bytes()}});
    s->close_gracefully(cfg_.shutdown_grace, [left, shared_finish](bool) {
      if (--*left == 0) (*shared_finish)();
    });
  }
}

void node::hurry_shutdown() {
  cfg_.shutdown_grace = std::chrono::milliseconds(0);
  if (!shutting_down_) return;
  auto all = streams_;  // closing edits streams_
  for (auto& [p, s] : all) {
    if (s->closed()) continue;
    spdlog::error(
        "node: stream {}: force-closing with {} queued bytes: the shutdown grace period was cut "
        "short",
        s->name(), s->queued_bytes());
    s->close(ETIMEDOUT, "shutdown grace period cut short");
  }
}

namespace {

struct signal_waiter {
  signal_waiter(boost::asio::io_context& io, std::function<void(int)> f)
      : set(io), fn(std::move(f)) {}
  void arm() {
    set.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;  // cancelled: this may be gone
      fn(sig);
      arm();
    });
  }
  boost::asio::signal_set set;
  std::function<void(int)> fn;
};

}  // namespace

void node::on_signals(std::initializer_list<int> sigs, std::function<void(int)> fn) {
  auto waiter = std::make_shared<signal_waiter>(broker_.io(), std::move(fn));
  for (int s : sigs) waiter->set.add(s);
  waiter->arm();
  signals_ = waiter;
}

}  // namespace faultmux
