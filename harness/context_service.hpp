// The mux's CALL_SERVICE service "faultmux.ContextService": get(name=...)
// gives workers a context the way Ansible workers get theirs. The first
// request for a name starts it (concurrent requests start it once), later
// requests get the same context while it lives, and a fresh one after it died.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mux/children.hpp"
#include "mux/node.hpp"

namespace faultmux {

class context_service {
 public:
  context_service(node& n, children& kids);

 private:
  struct waiter {
    std::uint32_t dst, handle;
  };
  void on_request(message& m);
  void reply(const waiter& w, const std::string& body);

  node& node_;
  children& kids_;
  std::map<std::string, context_info> live_;
  std::map<std::string, std::vector<waiter>> starting_;
};

}  // namespace faultmux
