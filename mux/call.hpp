// Calls into contexts, Mitogen's way: a pickled CALL_FUNCTION to the target,
// the reply (a pickled value or CallError, or a dead message) delivered to a
// one-shot handle bound to that context. Nothing waits forever: a call ends
// when its reply comes, when its context or any context on the way to it
// disconnects, or at its deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "mux/value.hpp"

namespace faultmux {

class node;

// The remote function raised: carries Mitogen's CallError text.
class call_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The call was answered by a dead message: carries its reason.
class channel_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// No outcome before the caller's deadline.
class call_timeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct call_spec {
  std::uint32_t context_id = 0;
  std::string module = "faultmux.builtins";
  std::string function;
  pickle::tuple args;
  pickle::kwargs kwargs;
};

// Exactly one per call.
struct call_outcome {
  enum class kind { result, remote_error, dead, bad_reply, timeout };
  kind what = kind::timeout;
  pickle::value result;  // kind::result
  std::string error;     // the other kinds: text for people
};

// A future for one call, usable from any thread but the broker's.
class call_receiver {
 public:
  // Waits up to `deadline`; returns the result or throws call_error,
  // channel_error or call_timeout.
  pickle::value get(std::chrono::milliseconds deadline);
  // Waits up to `deadline` for the outcome, whatever it is.
  call_outcome wait(std::chrono::milliseconds deadline);
  bool ready() const;

 private:
  friend class caller;
  struct state {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::optional<call_outcome> outcome;
  };
  std::shared_ptr<state> state_ = std::make_shared<state>();
  // The caller's broker: once its loop has exited no outcome can come.
  std::shared_ptr<const std::atomic<bool>> broker_exited_;
};

class caller {
 public:
  explicit caller(node& n) : node_(n) {}

  // Broker thread: starts a call; done runs on the broker thread with its
  // one outcome. With a deadline, a call still waiting then ends as timeout.
  void start(call_spec spec, std::function<void(call_outcome)> done,
             std::optional<std::chrono::milliseconds> deadline = std::nullopt);
  // Any thread but the broker's.
  call_receiver call_async(call_spec spec);
  pickle::value call(call_spec spec, std::chrono::milliseconds deadline);
  // Any thread: fire and forget (no reply_to).
  void call_no_reply(call_spec spec);

 private:
  node& node_;
};

// The CALL_FUNCTION body Mitogen sends: (chain_id, module, class, function,
// args, kwargs) pickled at protocol 2.
std::string encode_call(const call_spec& spec);

}  // namespace faultmux
