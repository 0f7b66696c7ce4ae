#include "harness/worker_client.hpp"

#include <pwd.h>

#include <fmt/format.h>

namespace faultmux {

std::string set_worker_client(worker_group& g, const std::string& client) {
  using wl = worker_group::workload_t;
  if (client != "faultmux" && client != "mitogen")
    return fmt::format(
        "worker group '{}': client must be \"faultmux\" or \"mitogen\" (a real Mitogen 0.3.3 "
        "unix client), got {:?}",
        g.name, client);
  g.client =
      client == "mitogen" ? worker_group::client_t::mitogen : worker_group::client_t::faultmux;
  if (g.client == worker_group::client_t::mitogen) {
    if (g.workload != wl::connect && g.workload != wl::echo && g.workload != wl::calls)
      return fmt::format(
          "worker group '{}': a client = \"mitogen\" group runs the connect, echo or calls "
          "workload, not {}",
          g.name, workload_name(g.workload));
    // What only faultmux's worker does: a Mitogen client has no such knob.
    const char* own = !g.fault_at.empty()         ? "fault_at"
                      : g.backlog_wait_ms >= 0    ? "backlog_wait_ms"
                      : g.connect_timeout_ms >= 0 ? "connect_timeout_ms"
                                                  : nullptr;
    if (own)
      return fmt::format(
          "worker group '{}': '{}' belongs to faultmux's own worker; a Mitogen client "
          "(client = \"mitogen\") has none",
          g.name, own);
  }
  if (g.uid >= 0 && !g.user.empty())
    return fmt::format("worker group '{}': give 'uid' or 'user', not both", g.name);
  if (!g.user.empty()) {
    const passwd* pw = ::getpwnam(g.user.c_str());
    if (!pw) return fmt::format("worker group '{}': user {:?}: no such user", g.name, g.user);
    g.uid = static_cast<int>(pw->pw_uid);
    g.gid = static_cast<int>(pw->pw_gid);
  } else if (g.uid >= 0) {
    const passwd* pw = ::getpwuid(static_cast<uid_t>(g.uid));
    g.gid = pw ? static_cast<int>(pw->pw_gid) : g.uid;
  }
  if (g.uid >= 0 && g.client != worker_group::client_t::mitogen)
    return fmt::format(
        "worker group '{}': 'uid'/'user' needs client = \"mitogen\" (that worker drops to "
        "another uid before it connects)",
        g.name);
  return {};
}

std::vector<std::string> mitogen_worker_prefix(const worker_group& g, const std::string& data_dir) {
  std::vector<std::string> a{"/usr/bin/python3", "-B", data_dir + "/scenarios/mitogen_worker.py"};
  if (g.uid >= 0)
    a.insert(a.end(), {"--uid", std::to_string(g.uid), "--gid", std::to_string(g.gid)});
  return a;
}

}  // namespace faultmux
