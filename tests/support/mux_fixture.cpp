#include "tests/support/mux_fixture.hpp"

#include <signal.h>

#include "tests/support/fault_support.hpp"

namespace faultmux::test {

void mux_fixture::start(const std::vector<std::string>& mux_args, mux_config cfg) {
  mux.emplace(dir, mux_args, std::move(cfg));
  echo = streams::start_worker(mux->socket_path());
}

std::vector<std::string> mux_fixture::worker_args(const std::string& events,
                                                  const std::vector<std::string>& extra) const {
  std::vector<std::string> a{"worker", "--connect", mux->socket_path(), "--events", events};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::optional<nlohmann::json> mux_fixture::mux_log(const std::string& what,
                                                   std::chrono::milliseconds timeout) const {
  return mux->wait_event(
      [&](const nlohmann::json& e) {
        return e.value("event", "") == "log" && e.value("msg", "").find(what) != std::string::npos;
      },
      timeout);
}

void mux_fixture::terminate_mux(std::chrono::milliseconds timeout) {
  if (!mux) return;
  mux->proc().signal(SIGCONT);
  mux->proc().signal(SIGTERM);
  mux->proc().wait(timeout);
}

void mux_fixture::expect_alive_and_routing() {
  EXPECT_TRUE(mux->alive()) << mux->stderr_text();
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
}

}  // namespace faultmux::test
