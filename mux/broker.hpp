// The event loop: one thread runs every stream, listener and timer of a
// process, as in Mitogen. Other threads hand it work with defer().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "mux/message.hpp"

namespace boost::asio {
class io_context;
}

namespace faultmux {

// A pending timer; cancel() from the broker thread stops it from firing.
class timer_handle {
 public:
  timer_handle() = default;
  void cancel();
  explicit operator bool() const { return state_ != nullptr; }

 private:
  friend class broker;
  struct state;
  std::shared_ptr<state> state_;
};

class broker {
 public:
  broker();
  ~broker();  // stops the loop and joins its thread
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;

  boost::asio::io_context& io() { return *io_; }

  void start();  // runs the loop on a new thread
  void run();    // runs the loop on the calling thread until stop()
  void stop();   // thread-safe; the loop returns soon after
  void join();

  // Runs fn on the broker thread. Thread-safe. An exception escaping fn is
  // logged and goes no further. Once the loop has exited fn would never
  // run: it is dropped and defer returns false, so that no caller waits on
  // a queue nobody reads.
  bool defer(std::function<void()> fn);
  // Set once run() has returned; shared, so a waiter may outlive the broker.
  std::shared_ptr<const std::atomic<bool>> exited() const { return exited_; }
  // Runs fn on the broker thread after d.
  timer_handle after(std::chrono::nanoseconds d, std::function<void()> fn);

  bool on_broker_thread() const { return std::this_thread::get_id() == loop_thread_id_.load(); }

  // Where every stream of this broker reads (broker thread only): a stream
  // keeps only the bytes of a frame not yet complete, so an idle one holds
  // no read buffer of its own. Valid until the next call.
  std::span<std::uint8_t> read_buffer();

  // While corked (a stream delivering what one wakeup read), streams queue
  // what they are given and write it when the last cork goes: one send of
  // many messages instead of a send per message. Broker thread only.
  void cork() { ++corks_; }
  void uncork();
  bool corked() const { return corks_ > 0; }
  // Runs fn at the last uncork (broker thread only, while corked).
  void when_uncorked(std::function<void()> fn) { at_uncork_.push_back(std::move(fn)); }

  // Buffers streams copy small frames into before a send (broker thread
  // only): taken empty with room, given back once written, so a busy mux
  // does not grow and free one per stream per wakeup.
  std::string take_run();
  void give_run(std::string run);

  // The array a stream decodes one read's messages into (broker thread
  // only): its room stays here, not in each stream, and is not grown and
  // freed each wakeup. Given back emptied.
  std::vector<message> take_received();
  void give_received(std::vector<message> received);

 private:
  std::vector<std::string> spare_runs_;
  std::vector<message> spare_received_;
  std::shared_ptr<std::atomic<bool>> exited_ = std::make_shared<std::atomic<bool>>(false);
  int corks_ = 0;
  std::vector<std::function<void()>> at_uncork_, uncorking_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::vector<std::uint8_t> read_buffer_;
  std::thread thread_;
  std::atomic<std::thread::id> loop_thread_id_{};
};

}  // namespace faultmux
