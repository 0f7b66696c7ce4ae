// A worker's call workload: get a context from the mux's
// faultmux.ContextService, then make `count` calls of one built-in function
// with `in_flight` waiting, checking each result and reporting each call's
// outcome and latency as an event. Runs on the broker thread.
#pragma once

#include <functional>
#include <memory>

#include "mux/call.hpp"
#include "mux/node.hpp"
#include "roles/roles.hpp"

namespace faultmux {

class call_workload {
 public:
  call_workload(node& n, const worker_options& o);
  void start(std::function<void()> done);
  void on_parent_lost();
  bool ok() const { return finished_ && failed_ == 0 && ok_count_ == o_.count; }
  // The first call has been sent and its outcome is not in yet.
  bool awaiting_first_reply() const { return !finished_ && next_ > 0 && ok_count_ + failed_ == 0; }

  // Called once, right after the first call is sent.
  std::function<void()> on_first_call_sent;

 private:
  // Asks the mux's faultmux.ContextService for the context `name`.
  void ask_for_contexts();
  // Asks the mux's ContextService for `name`; a CallError from it (the start
  // failed) goes to `refused`, anything else wrong fails the workload.
  void get_context(const std::string& name, std::function<void(std::uint32_t)> got,
                   std::function<void(const std::string&)> refused);
  void context_refused(double asked, const std::string& why);
  void got_context(std::uint32_t id);
  void call_next();
  void on_outcome(int seq, double sent, call_outcome out);
  std::string check(int seq, const pickle::value& result) const;
  void fail(const std::string& why);
  void finish();

  node& node_;
  const worker_options& o_;
  caller calls_;
  std::uint32_t target_ = 0;
  std::uint32_t relay_ = 0;  // --relay-to's context id
  int next_ = 0, in_flight_ = 0, ok_count_ = 0, failed_ = 0;
  bool finished_ = false;
  double started_ = 0;
  std::vector<double> latencies_;
  std::function<void()> done_;
};

}  // namespace faultmux
