// Serves CALL_FUNCTION in a context: requests from the parent's authority
// are run one at a time, in order, on the dispatcher's own thread (as Mitogen
// runs them on its main thread), and each gets its pickled result or
// CallError. A small request for a quick function that arrives while nothing
// else is running or waiting is run at once on the broker thread instead:
// the same order and result, without two thread hand-offs per call.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "mux/message.hpp"
#include "mux/pickle.hpp"
#include "mux/value.hpp"

namespace faultmux {

class node;

// A callable function: positional and keyword arguments in, a value out.
// Throwing std::exception makes the call fail with a CallError carrying it.
using function =
    std::function<pickle::value(const pickle::tuple& args, const pickle::kwargs& kwargs)>;

// Functions by "module.name", as Mitogen addresses them. A quick function
// never blocks and does work in proportion to its request's size: the
// dispatcher may run it on the broker thread (see dispatcher).
class function_table {
 public:
  struct entry {
    function fn;
    bool quick = false;
  };

  void add(const std::string& module, const std::string& name, function fn, bool quick = false) {
    fns_[module][name] = {std::move(fn), quick};
  }
  // Looked up for every call: by module, then name, without building a key.
  const entry* find(std::string_view module, std::string_view name) const {
    auto m = fns_.find(module);
    if (m == fns_.end()) return nullptr;
    auto it = m->second.find(name);
    return it == m->second.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, std::map<std::string, entry, std::less<>>, std::less<>> fns_;
};

class dispatcher {
 public:
  dispatcher(node& n, const function_table& fns);
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  // Broker thread (or before the loop runs): registers the handler and
  // starts the thread.
  void start();
  // Stops taking requests; the thread ends after the call it is running.
  void stop();

  // Optional observer, called on the thread that runs the call when it starts
  // running ("module.function", caller's context id), before its reply
  // exists. Set it before start().
  std::function<void(const std::string& function, std::uint32_t from)> on_call_start;

 private:
  // A request and, when the broker thread already decoded it, its value.
  struct job {
    message m;
    std::optional<pickle::result<pickle::value>> decoded;
  };
  // The parts of a decoded request a call runs from (pointers into it).
  struct request {
    bool six_tuple = false;
    const pickle::text* module = nullptr;
    const pickle::text* function = nullptr;
    const pickle::tuple* args = nullptr;
    const pickle::kwargs* kwargs = nullptr;
    const pickle::dict* kwargs_dict = nullptr;  // a dict where kwargs were expected
  };
  // The request's parts, or null ones when it is not a 6-tuple; the types
  // of the parts are checked by serve().
  static request parts_of(const pickle::value& req);
  void run();
  // Runs the call; its reply, when one is wanted, for the caller to route.
  std::optional<message> serve(job& j);
  bool is_quick(const pickle::result<pickle::value>& req) const;
  // "module.function" of a request, for logs and events.
  static std::string name_of(const request& r);

  node& node_;
  const function_table& fns_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  bool stopping_ = false;
  int unanswered_ = 0;  // calls taken by the dispatcher thread, their replies not yet routed
  std::thread thread_;
};

// The ids of the request a function is serving on this thread, while it
// runs: for functions that report who called them.
struct call_origin {
  std::uint32_t src_id = 0;
  std::uint32_t auth_id = 0;
};
std::optional<call_origin> current_call_origin();

// Mitogen's has_parent_authority: the message carries our own authority or
// an ancestor's.
bool has_parent_authority(const message& m, std::uint32_t self,
                          const std::vector<std::uint32_t>& parents);

}  // namespace faultmux
