// Serves CALL_FUNCTION in a context: requests from the parent's authority
// are run one at a time on the dispatcher's own thread (as Mitogen runs them
// on its main thread), and each gets its pickled result or CallError.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "mux/message.hpp"
#include "mux/value.hpp"

namespace faultmux {

class node;

// A callable function: positional and keyword arguments in, a value out.
// Throwing std::exception makes the call fail with a CallError carrying it.
using function =
    std::function<pickle::value(const pickle::tuple& args, const pickle::kwargs& kwargs)>;

// Functions by "module.name", as Mitogen addresses them.
class function_table {
 public:
  void add(const std::string& module, const std::string& name, function fn) {
    fns_[module + "." + name] = std::move(fn);
  }
  const function* find(const std::string& module, const std::string& name) const {
    auto it = fns_.find(module + "." + name);
    return it == fns_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, function> fns_;
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

  // Optional observer, called on the dispatcher's thread when a call starts
  // running ("module.function", caller's context id), before its reply
  // exists. Set it before start().
  std::function<void(const std::string& function, std::uint32_t from)> on_call_start;

 private:
  void run();
  void serve(message& m);

  node& node_;
  const function_table& fns_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<message> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// Mitogen's has_parent_authority: the message carries our own authority or
// an ancestor's.
bool has_parent_authority(const message& m, std::uint32_t self,
                          const std::vector<std::uint32_t>& parents);

}  // namespace faultmux
