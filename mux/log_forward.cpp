#include "mux/log_forward.hpp"

#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "mux/log.hpp"
#include "mux/node.hpp"

namespace faultmux {
namespace {

int python_levelno(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return 5;
    case spdlog::level::debug:
      return 10;
    case spdlog::level::info:
      return 20;
    case spdlog::level::warn:
      return 30;
    case spdlog::level::err:
      return 40;
    default:
      return 50;
  }
}

class forward_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit forward_sink(node& n) : node_(n) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string body = fmt::format("faultmux{}{}{}{}", '\0', python_levelno(msg.level), '\0',
                                   std::string_view(msg.payload.data(), msg.payload.size()));
    node* n = &node_;
    // No parent to tell, or no loop to tell it: say it on stderr, which the
    // parent also reads.
    auto say_here = [](std::string_view record) {
      record.remove_prefix(record.rfind('\0') + 1);
      fmt::print(stderr, "{}\n", record);
    };
    auto record = std::make_shared<std::string>(std::move(body));
    const bool queued = n->get_broker().defer([n, record, say_here] {
      router& r = n->get_router();
      auto parent = r.parent_id();
      if (!parent || !r.explicit_route(*parent)) return say_here(*record);
      message m;
      m.dst_id = *parent;
      m.handle = handle::forward_log;
      m.data = std::move(*record);
      r.route(std::move(m));
    });
    if (!queued) say_here(*record);
  }
  void flush_() override {}

 private:
  node& node_;
};

}  // namespace

void forward_logs_to_parent(node& n) {
  // Replace the stderr sink log::init made; keep the events sink.
  auto& sinks = spdlog::default_logger()->sinks();
  for (auto& sink : sinks) {
    if (std::dynamic_pointer_cast<spdlog::sinks::stderr_sink_mt>(sink))
      sink = std::make_shared<forward_sink>(n);
  }
}

void flush_forwarded_logs(node& n, std::chrono::milliseconds timeout) {
  if (n.get_broker().on_broker_thread()) return;
  // The sink hands records to the broker thread in order: once a task queued
  // now has run, every earlier record has been routed. Routed is not sent: a
  // process that exits with bytes still queued loses them, so wait until the
  // streams have written everything.
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto queued = std::make_shared<std::promise<std::size_t>>();
    auto f = queued->get_future();
    if (!n.get_broker().defer([queued, &n] { queued->set_value(n.queued_bytes()); })) return;
    if (f.wait_until(end) != std::future_status::ready || f.get() == 0) return;
    if (std::chrono::steady_clock::now() >= end) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace faultmux
