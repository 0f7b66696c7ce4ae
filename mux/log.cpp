#include "mux/log.hpp"

#include <unistd.h>

#include <mutex>

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "mux/events.hpp"
#include "wire/event_names.hpp"

namespace faultmux::log {
namespace {

class event_sink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (msg.level < spdlog::level::warn) return;
    events::emit(wire::ev::log,
                 {{"level", std::string(spdlog::level::to_string_view(msg.level).data())},
                  {"msg", std::string(msg.payload.data(), msg.payload.size())}});
  }
  void flush_() override {}
};

}  // namespace

void init(const std::string& role, int verbosity) {
  auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto ev = std::make_shared<event_sink>();
  auto logger = std::make_shared<spdlog::logger>("faultmux", spdlog::sinks_init_list{err, ev});
  logger->set_pattern(fmt::format("%H:%M:%S.%e {}[{}] %l: %v", role, ::getpid()));
  logger->set_level(verbosity >= 2   ? spdlog::level::trace
                    : verbosity == 1 ? spdlog::level::debug
                                     : spdlog::level::info);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace faultmux::log
