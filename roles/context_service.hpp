// The mux's CALL_SERVICE service "faultmux.ContextService": get(name=...)
// gives workers a context the way Ansible workers get theirs. The first
// request for a name starts it (concurrent requests start it once), later
// requests get the same context while it lives, and a fresh one after it died.
// A path "a/b" names the context b that context a started (start_child): a
// call into it is routed mux -> a -> b, as to a target behind an intermediate.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mux/call.hpp"
#include "mux/children.hpp"
#include "mux/node.hpp"

namespace faultmux {

class context_service {
 public:
  context_service(node& n, children& kids);
  // Unregisters what the constructor registered (the handler and the
  // children's and router's listeners), so nothing calls into a destroyed
  // service. Owners destroy services in reverse order of construction.
  ~context_service();
  context_service(const context_service&) = delete;
  context_service& operator=(const context_service&) = delete;

  // Starts the contexts at `paths` (as a request for each would), then calls
  // `done` once every one is up or has failed; a failure is logged as an error.
  void start_up_front(const std::vector<std::string>& paths, std::function<void()> done);

 private:
  struct waiter {
    std::uint32_t dst, handle;
  };
  using acquired_fn = std::function<void(std::optional<context_info>, const std::string& error)>;
  void on_request(message& m);
  void reply(const waiter& w, const std::string& body);
  // The live context called `path`, started (once) when there is none.
  void acquire(const std::string& path, acquired_fn done);
  void acquired(const std::string& path, std::optional<context_info> info,
                const std::string& error);

  node& node_;
  children& kids_;
  caller calls_;
  std::map<std::string, context_info> live_;
  std::map<std::string, std::vector<acquired_fn>> starting_;
  // Expires with the service: what children and calls call back checks it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  // The listeners that were in place before ours, restored on destruction.
  std::function<void(const context_info&)> previous_on_gone_;
  std::function<void(std::uint32_t, peer*, bool)> previous_route_change_;
};

}  // namespace faultmux
