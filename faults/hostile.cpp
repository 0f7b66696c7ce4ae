#include "faults/hostile.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>

#include "faults/event_log.hpp"
#include "faults/raw_peer.hpp"
#include "wire/event_names.hpp"
#include "wire/hello.hpp"

namespace faultmux::faults {
namespace {

using raw::clock;
using ms = std::chrono::milliseconds;

constexpr std::uint32_t reply_handle = 1001;    // ours: replies to the hostile request
constexpr std::uint32_t check_handle = 1003;    // ours: replies to a well-formed check message
constexpr std::uint32_t unknown_handle = 4999;  // a handle the mux does not serve
constexpr std::uint32_t no_such_context = 0x7ffffff0;
constexpr std::uint16_t wrong_magic = 0x4d58;  // "MX": no Mitogen version sends it

struct name_entry {
  const char* name;
  behaviour b;
};
constexpr name_entry names[] = {
    {"stall", behaviour::stall},
    {"short-pid", behaviour::short_pid},
    {"exit-after-pid", behaviour::exit_after_pid},
    {"never-read-reply", behaviour::never_read_reply},
    {"garbage", behaviour::garbage},
    {"bad-magic", behaviour::bad_magic},
    {"oversize-plus-1", behaviour::oversize_plus_1},
    {"oversize-ffffffff", behaviour::oversize_ffffffff},
    {"single-bytes", behaviour::single_bytes},
    {"many-frames", behaviour::many_frames},
    {"spoof-auth", behaviour::spoof_auth},
    {"spoof-src", behaviour::spoof_src},
    {"forbidden-route", behaviour::forbidden_route},
    {"oversize-body", behaviour::oversize_body},
    {"slow-reader", behaviour::slow_reader},
    {"unknown-handle", behaviour::unknown_handle},
    {"route-abuse", behaviour::route_abuse},
    {"half-close-header", behaviour::half_close_header},
    {"half-close-body", behaviour::half_close_body},
    {"shut-rd", behaviour::shut_rd},
    {"shut-rd-close", behaviour::shut_rd_close},
};

bool needs_target(behaviour b) {
  switch (b) {
    case behaviour::single_bytes:
    case behaviour::many_frames:
    case behaviour::spoof_auth:
    case behaviour::spoof_src:
    case behaviour::slow_reader:
    case behaviour::route_abuse:
      return true;
    default:
      return false;
  }
}

std::string err_name(int err) {
  if (err == 0) return "EOF";
  const char* n = ::strerrorname_np(err);
  return std::string(n ? n : "?") + " (" + std::strerror(err) + ")";
}

bool is_disconnect(int err) {
  return err == EPIPE || err == ECONNRESET || err == ENOTCONN;
}

std::string printable(const std::string& s, std::size_t max = 200) {
  std::string out;
  for (char c : s.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '.';
  if (s.size() > max) out += "...";
  return out;
}

class hostile_run {
 public:
  explicit hostile_run(const hostile_options& o) : o_(o), name_(behaviour_name(o.what)) {
    started_ = clock::now();
  }

  int run() {
    if (int err = log_.open(o_.events, "worker"); err != 0) {
      std::fprintf(stderr, "faultmux worker: --events %s: cannot open: %s\n", o_.events.c_str(),
                   err_name(err).c_str());
      return hostile_status::bad_input;
    }
    log_.emit(wire::ev::hostile_start, {{"behaviour", name_}, {"path", o_.connect}});
    c_.set_max_message_size(o_.max_message_size);
    switch (o_.what) {
      case behaviour::stall:
        return stall();
      case behaviour::short_pid:
        return short_pid();
      case behaviour::exit_after_pid:
        return exit_after_pid();
      case behaviour::never_read_reply:
        return never_read_reply();
      case behaviour::garbage:
        return garbage();
      case behaviour::bad_magic:
        return bad_magic();
      case behaviour::oversize_plus_1:
        return oversize_header(static_cast<std::uint32_t>(o_.max_message_size + 1));
      case behaviour::oversize_ffffffff:
        return oversize_header(0xffffffffu);
      case behaviour::single_bytes:
        return single_bytes();
      case behaviour::many_frames:
        return many_frames();
      case behaviour::spoof_auth:
        return spoof(true);
      case behaviour::spoof_src:
        return spoof(false);
      case behaviour::forbidden_route:
        return forbidden_route();
      case behaviour::oversize_body:
        return oversize_body();
      case behaviour::slow_reader:
        return slow_reader();
      case behaviour::unknown_handle:
        return unknown_handle_requests();
      case behaviour::route_abuse:
        return route_abuse();
      case behaviour::half_close_header:
        return half_close(false);
      case behaviour::half_close_body:
        return half_close(true);
      case behaviour::shut_rd:
        return shut_rd(false);
      case behaviour::shut_rd_close:
        return shut_rd(true);
    }
    return finish(hostile_status::bad_input, "unknown behaviour");
  }

 private:
  using field = event_log::field;

  clock::time_point hold_end() const { return clock::now() + ms(o_.hold_ms); }
  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(clock::now() - started_).count();
  }

  void did(const std::string& what, std::initializer_list<field> extra = {}) {
    step("did", what, extra);
  }
  void saw(const std::string& what, std::initializer_list<field> extra = {}) {
    step("saw", what, extra);
  }
  void step(const char* kind, const std::string& what, std::initializer_list<field> extra) {
    std::vector<field> f{{"behaviour", name_}, {"step", kind}, {"what", what}};
    f.insert(f.end(), extra.begin(), extra.end());
    log_.emit(wire::ev::hostile, f.data(), f.data() + f.size());
  }

  int finish(int status, const std::string& outcome) {
    log_.emit(wire::ev::hostile_done,
              {{"behaviour", name_}, {"status", status}, {"outcome", outcome}});
    std::printf("hostile %s status=%d: %s\n", name_, status, outcome.c_str());
    std::fflush(stdout);
    if (status == hostile_status::unexpected || status == hostile_status::cannot_connect)
      std::fprintf(stderr, "faultmux worker --behave %s: %s\n", name_, outcome.c_str());
    return status;
  }

  // --- handshake pieces ----------------------------------------------------

  // 0 when connected; otherwise the finished status.
  int connect() {
    auto end = clock::now() + ms(o_.connect_timeout_ms);
    if (int err = c_.connect(o_.connect, end); err != 0)
      return finish(hostile_status::cannot_connect,
                    "cannot connect to " + o_.connect + ": " + err_name(err));
    did("connected");
    return 0;
  }

  std::string pid_bytes() const {
    auto pid = static_cast<std::uint32_t>(::getpid());
    return {static_cast<char>(pid >> 24), static_cast<char>(pid >> 16), static_cast<char>(pid >> 8),
            static_cast<char>(pid)};
  }

  int send_pid() {
    if (int err = c_.send_all(pid_bytes(), clock::now() + ms(o_.connect_timeout_ms)); err != 0)
      return finish(hostile_status::cannot_connect, "sending our pid: " + err_name(err));
    did("sent the pid", {{"pid_sent", static_cast<std::int64_t>(::getpid())}});
    return 0;
  }

  // connect, pid, identity; 0 when done.
  int handshake() {
    if (int st = connect()) return st;
    if (int st = send_pid()) return st;
    std::string id;
    if (int err = c_.read_exact(12, id, clock::now() + ms(o_.connect_timeout_ms)); err != 0)
      return finish(hostile_status::cannot_connect,
                    "reading our identity (got " + std::to_string(id.size()) +
                        " of 12 bytes): " + err_name(err == ECONNRESET ? 0 : err));
    auto get = [&](int at) {
      auto b = [&](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(id[i])); };
      return (b(at) << 24) | (b(at + 1) << 16) | (b(at + 2) << 8) | b(at + 3);
    };
    id_ = get(0);
    mux_id_ = get(4);
    std::printf("%s\n", wire::format_hello({id_, mux_id_}).c_str());
    std::fflush(stdout);
    saw("identity", {{"context_id", id_}, {"parent_id", mux_id_}, {"parent_pid", get(8)}});
    return 0;
  }

  raw::frame request(std::uint32_t dst, std::uint32_t handle, std::uint32_t reply_to,
                     std::string data) const {
    raw::frame f;
    f.dst_id = dst;
    f.src_id = id_;
    f.auth_id = id_;
    f.handle = handle;
    f.reply_to = reply_to;
    f.data = std::move(data);
    return f;
  }

  // After a malformed frame: the mux must disconnect us.
  int expect_disconnect(int write_err) {
    if (is_disconnect(write_err)) {
      saw("the mux closed the connection while we wrote: " + err_name(write_err));
      return finish(hostile_status::ok, "disconnected by the mux");
    }
    if (c_.wait_closed(hold_end())) {
      saw("the mux closed the connection", {{"after_ms", elapsed_ms()}});
      return finish(hostile_status::ok, "disconnected by the mux");
    }
    saw("still connected after " + std::to_string(o_.hold_ms) + " ms");
    return finish(hostile_status::unexpected,
                  "the mux did not disconnect us within " + std::to_string(o_.hold_ms) + " ms");
  }

  // --- behaviours ------------------------------------------------------------

  int stall() {
    if (int st = connect()) return st;
    did("sending nothing", {{"hold_ms", o_.hold_ms}});
    if (c_.wait_closed(hold_end())) {
      saw("the mux closed the connection", {{"after_ms", elapsed_ms()}});
      return finish(hostile_status::ok, "the mux closed the stalled connection");
    }
    saw("held the connection open", {{"hold_ms", o_.hold_ms}});
    return finish(hostile_status::ok, "held " + std::to_string(o_.hold_ms) + " ms");
  }

  int short_pid() {
    if (int st = connect()) return st;
    std::string part = pid_bytes().substr(0, static_cast<std::size_t>(o_.pid_bytes));
    if (int err = c_.send_all(part, hold_end()); err != 0)
      return finish(hostile_status::cannot_connect, "sending pid bytes: " + err_name(err));
    did("sent " + std::to_string(o_.pid_bytes) + " of 4 pid bytes, closing",
        {{"pid_bytes", o_.pid_bytes}});
    c_.close();
    return finish(hostile_status::ok,
                  "closed after " + std::to_string(o_.pid_bytes) + " pid bytes");
  }

  int exit_after_pid() {
    if (int st = connect()) return st;
    if (int st = send_pid()) return st;
    did("exiting before reading the reply");
    return finish(hostile_status::ok, "exited after sending the pid");
  }

  int never_read_reply() {
    if (int st = connect()) return st;
    if (int st = send_pid()) return st;
    did("never reading the reply", {{"hold_ms", o_.hold_ms}});
    if (c_.wait_hangup(hold_end())) {
      saw("the mux closed the connection", {{"after_ms", elapsed_ms()}});
      return finish(hostile_status::ok, "the mux closed the connection");
    }
    saw("held the connection open", {{"hold_ms", o_.hold_ms}});
    return finish(hostile_status::ok, "held " + std::to_string(o_.hold_ms) + " ms");
  }

  int garbage() {
    if (int st = handshake()) return st;
    std::string bytes = raw::pattern(o_.seed, 0, o_.size);
    // A valid magic would make the start a frame header, not garbage.
    if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x4d &&
        static_cast<unsigned char>(bytes[1]) >= 0x49 &&
        static_cast<unsigned char>(bytes[1]) <= 0x4b)
      bytes[0] = static_cast<char>(~bytes[0]);
    int err = c_.send_all(bytes, hold_end());
    did("sent " + std::to_string(bytes.size()) + " random bytes",
        {{"bytes", bytes.size()}, {"seed", o_.seed}});
    return expect_disconnect(err);
  }

  int bad_magic() {
    if (int st = handshake()) return st;
    raw::frame f = request(mux_id_, unknown_handle, 0, "bad magic");
    f.magic = wrong_magic;
    int err = c_.send_all(raw::encode(f), hold_end());
    did("sent a frame with magic 0x4d58", {{"magic", f.magic}});
    return expect_disconnect(err);
  }

  int oversize_header(std::uint32_t len) {
    if (int st = handshake()) return st;
    raw::frame f = request(o_.target.value_or(mux_id_), worker_echo_handle, reply_handle, "");
    int err = c_.send_all(raw::header(f, len), hold_end());
    did("sent a header with data_len " + std::to_string(len) + " and no body",
        {{"data_len", len}, {"max", o_.max_message_size}});
    return expect_disconnect(err);
  }

  int single_bytes() {
    if (int st = handshake()) return st;
    std::string body = raw::pattern(o_.seed, 0, o_.size);
    std::string bytes = raw::encode(request(*o_.target, worker_echo_handle, reply_handle, body));
    auto end = hold_end();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (int err = c_.send_all(std::string_view(bytes).substr(i, 1), end); err != 0) {
        saw("writing byte " + std::to_string(i) + " failed: " + err_name(err));
        return finish(hostile_status::unexpected, "the mux closed the connection at byte " +
                                                      std::to_string(i) + ": " + err_name(err));
      }
      // One byte per read on the mux's side too: wait until it took this one.
      while (c_.unread_by_peer() > 0 && clock::now() < end)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    did("wrote a " + std::to_string(bytes.size()) +
            "-byte echo request one byte per send, each read before the next",
        {{"bytes", bytes.size()}, {"target", *o_.target}});
    return expect_echoes(1, [&](int) { return body; });
  }

  // Reads n replies on reply_handle, in order, each the echo of body(i).
  int expect_echoes(int n, const std::function<std::string(int)>& body) {
    auto end = hold_end();
    for (int i = 0; i < n; ++i) {
      int err = 0;
      auto f = c_.read_frame(end, &err);
      if (!f)
        return finish(hostile_status::unexpected, "reply " + std::to_string(i) + " of " +
                                                      std::to_string(n) +
                                                      " did not come: " + err_name(err));
      if (f->dead())
        return finish(hostile_status::unexpected,
                      "reply " + std::to_string(i) + " is a dead message: " + printable(f->data));
      if (f->handle != reply_handle || f->src_id != *o_.target || f->data != body(i))
        return finish(hostile_status::unexpected,
                      "reply " + std::to_string(i) + " is wrong or out of order (from " +
                          std::to_string(f->src_id) + " to handle " + std::to_string(f->handle) +
                          ", " + std::to_string(f->data.size()) + " bytes)");
    }
    saw(std::to_string(n) + " correct replies in order", {{"replies", n}});
    return finish(hostile_status::ok, std::to_string(n) + " correct replies in order");
  }

  int many_frames() {
    if (int st = handshake()) return st;
    int n = o_.count > 0 ? o_.count : 100;
    std::string bytes;
    for (int i = 0; i < n; ++i)
      bytes += raw::encode(request(*o_.target, worker_echo_handle, reply_handle,
                                   raw::pattern(o_.seed, static_cast<std::uint64_t>(i), o_.size)));
    if (int err = c_.send_all(bytes, hold_end()); err != 0)
      return finish(hostile_status::unexpected, "writing the frames failed: " + err_name(err));
    did("wrote " + std::to_string(n) + " echo requests in one buffer",
        {{"frames", n}, {"bytes", bytes.size()}, {"target", *o_.target}});
    return expect_echoes(
        n, [&](int i) { return raw::pattern(o_.seed, static_cast<std::uint64_t>(i), o_.size); });
  }

  int spoof(bool auth) {
    if (int st = handshake()) return st;
    std::uint32_t claimed = o_.spoof_id.value_or(*o_.target);
    if (claimed == id_)
      return finish(hostile_status::bad_input, "--spoof-id " + std::to_string(claimed) +
                                                   " is our own id: give another context's id");
    raw::frame f =
        request(*o_.target, worker_echo_handle, reply_handle, raw::pattern(o_.seed, 0, o_.size));
    if (auth)
      f.auth_id = claimed;
    else
      f.src_id = claimed;
    if (int err = c_.send_all(raw::encode(f), hold_end()); err != 0)
      return finish(hostile_status::unexpected,
                    "writing the spoofed frame failed: " + err_name(err));
    did(std::string("sent an echo request with ") + (auth ? "auth_id " : "src_id ") +
            std::to_string(claimed) + " (ours is " + std::to_string(id_) + ")",
        {{auth ? "auth_id" : "src_id", claimed}, {"target", *o_.target}});
    // A well-formed request to the same echo handle: the mux forwards a
    // stream's messages in order and the echo worker answers in order, so a
    // delivered spoofed request's echo would come back before this one's.
    std::string body = raw::pattern(o_.seed, 1, 16);
    if (int err = c_.send_all(
            raw::encode(request(*o_.target, worker_echo_handle, check_handle, body)), hold_end());
        err != 0)
      return finish(hostile_status::unexpected,
                    "writing the check message failed: " + err_name(err));
    auto end = hold_end();
    for (;;) {
      int err = 0;
      auto r = c_.read_frame(end, &err);
      if (!r)
        return finish(hostile_status::unexpected,
                      "no answer to the well-formed check message: " + err_name(err));
      if (r->handle == reply_handle) {
        saw("the spoofed request was answered", {{"dead", r->dead()}});
        return finish(hostile_status::unexpected,
                      "the spoofed request reached its target (answer: " +
                          (r->dead() ? "dead " + printable(r->data) : std::string("its echo")) +
                          ")");
      }
      if (r->handle == check_handle && !r->dead() && r->data == body) {
        saw("the spoofed request was dropped; the well-formed one was echoed");
        return finish(hostile_status::ok, "spoofed request dropped");
      }
      if (r->handle == check_handle)
        return finish(hostile_status::unexpected,
                      "the check message came back wrong" +
                          (r->dead() ? ": dead " + printable(r->data) : std::string()));
    }
  }

  int forbidden_route() {
    if (int st = handshake()) return st;
    std::uint32_t dst = o_.target.value_or(no_such_context);
    if (int err = c_.send_all(raw::encode(request(dst, worker_echo_handle, reply_handle,
                                                  raw::pattern(o_.seed, 0, 16))),
                              hold_end());
        err != 0)
      return finish(hostile_status::unexpected, "writing the request failed: " + err_name(err));
    did("sent an echo request to context " + std::to_string(dst), {{"dst", dst}});
    int err = 0;
    auto r = c_.read_frame(hold_end(), &err);
    if (!r) return finish(hostile_status::unexpected, "no dead reply came: " + err_name(err));
    if (!r->dead() || r->handle != reply_handle)
      return finish(hostile_status::unexpected,
                    "the mux forwarded the message: a live reply to handle " +
                        std::to_string(r->handle) + " came back");
    saw("dead reply: " + printable(r->data), {{"reason", r->data}});
    bool refused = r->data.rfind("no route to ", 0) == 0 ||
                   r->data.rfind("routing mode prevents forward of message", 0) == 0;
    if (!refused)
      return finish(hostile_status::unexpected,
                    "dead reply with another reason: " + printable(r->data));
    return finish(hostile_status::ok, "refused: " + printable(r->data));
  }

  // A request to a handle nobody serves, at the mux and, with --target, at
  // that worker: the context it reaches answers itself with the dead
  // `invalid handle` (an unknown handle is no reason to bounce it elsewhere).
  int unknown_handle_requests() {
    if (int st = handshake()) return st;
    std::vector<std::uint32_t> dsts{mux_id_};
    if (o_.target) dsts.push_back(*o_.target);
    std::string answers;
    for (std::uint32_t dst : dsts) {
      if (int err = c_.send_all(raw::encode(request(dst, unknown_handle, reply_handle,
                                                    raw::pattern(o_.seed, dst, 16))),
                                hold_end());
          err != 0)
        return finish(hostile_status::unexpected, "writing the request failed: " + err_name(err));
      did("sent a request to handle " + std::to_string(unknown_handle) + " of context " +
              std::to_string(dst),
          {{"dst", dst}, {"handle", unknown_handle}});
      int err = 0;
      auto r = c_.read_frame(hold_end(), &err);
      if (!r)
        return finish(hostile_status::unexpected,
                      "no answer from context " + std::to_string(dst) + ": " + err_name(err));
      saw(std::string(r->dead() ? "dead reply" : "live reply") + " from context " +
              std::to_string(r->src_id) + ": " + printable(r->data),
          {{"src", r->src_id}, {"reason", r->data}});
      if (!r->dead() || r->handle != reply_handle || r->data != "invalid handle")
        return finish(hostile_status::unexpected,
                      "context " + std::to_string(dst) + " answered " +
                          (r->dead() ? "dead " + printable(r->data) : std::string("live")) +
                          " to handle " + std::to_string(r->handle) +
                          ", not the dead `invalid handle`");
      if (r->src_id != dst)
        return finish(hostile_status::unexpected, "the dead `invalid handle` for context " +
                                                      std::to_string(dst) + " came from context " +
                                                      std::to_string(r->src_id));
      answers += (answers.empty() ? "" : ", ") + std::to_string(dst);
    }
    return finish(hostile_status::ok, "invalid handle from context " + answers);
  }

  int oversize_body() {
    if (int st = handshake()) return st;
    std::uint64_t len = o_.max_message_size + 1;
    raw::frame f = request(o_.target.value_or(mux_id_),
                           o_.target ? worker_echo_handle : unknown_handle, reply_handle, "");
    std::string bytes = raw::header(f, static_cast<std::uint32_t>(len));
    bytes.append(len, 'x');
    std::size_t written = 0;
    int err = c_.send_all(bytes, hold_end(), &written);
    did("sent a " + std::to_string(len) + "-byte body (the limit is " +
            std::to_string(o_.max_message_size) + ")",
        {{"data_len", len}, {"written", written}, {"error", err ? err_name(err) : ""}});
    if (is_disconnect(err)) {
      saw("the mux closed the connection while we wrote: " + err_name(err));
      return finish(hostile_status::ok, "disconnected by the mux");
    }
    int rerr = 0;
    auto r = c_.read_frame(hold_end(), &rerr);
    if (!r && is_disconnect(rerr)) {
      saw("the mux closed the connection");
      return finish(hostile_status::ok, "disconnected by the mux");
    }
    if (r && r->dead() && r->handle == reply_handle && r->data.rfind("message too large", 0) == 0) {
      saw("dead reply: " + printable(r->data), {{"reason", r->data}});
      return finish(hostile_status::ok, "dead reply: " + printable(r->data));
    }
    if (!r)
      return finish(hostile_status::unexpected,
                    "neither a dead reply nor a disconnect: " + err_name(rerr));
    return finish(hostile_status::unexpected,
                  "the oversize body was answered: " +
                      (r->dead() ? "dead " + printable(r->data) : std::string("a live reply")));
  }

  int slow_reader() {
    if (int st = handshake()) return st;
    int n = o_.count > 0 ? o_.count : 2000;
    std::string frame = raw::encode(
        request(*o_.target, worker_echo_handle, reply_handle, raw::pattern(o_.seed, 0, o_.size)));
    did("sending " + std::to_string(n) + " echo requests of " + std::to_string(o_.size) +
            " bytes, each after the last one's echo, never reading",
        {{"requests", n}, {"size", o_.size}, {"target", *o_.target}});
    auto end = hold_end();
    int waiting = 0;  // bytes of echoes in our socket, unread
    for (int i = 0; i < n; ++i) {
      int err = c_.send_all(frame, end);
      if (is_disconnect(err)) {
        saw("the mux closed the connection after " + std::to_string(i) + " requests",
            {{"requests", i}});
        return finish(hostile_status::ok,
                      "disconnected by the mux after " + std::to_string(i) + " requests");
      }
      if (err == ETIMEDOUT) {
        saw("writes blocked after " + std::to_string(i) + " requests", {{"requests", i}});
        return finish(hostile_status::ok,
                      "the mux stopped reading us after " + std::to_string(i) + " requests");
      }
      if (err != 0) return finish(hostile_status::unexpected, "writing failed: " + err_name(err));
      // Paced by the echoes: the replies, not our requests, are to pile up
      // in the mux (a flood of requests would fill the echo worker's queue
      // first and make it the slow reader). While our socket has room the
      // echo shows up in it; once it is full, a short wait per request
      // stands in.
      auto echo_end = std::min(end, clock::now() + std::chrono::milliseconds(20));
      while (c_.unread_here() <= waiting && clock::now() < echo_end)
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      waiting = std::max(waiting, c_.unread_here());
    }
    if (c_.wait_hangup(end)) {
      saw("the mux closed the connection after all " + std::to_string(n) + " requests",
          {{"requests", n}});
      return finish(hostile_status::ok, "disconnected by the mux");
    }
    saw("the connection is still open after " + std::to_string(o_.hold_ms) + " ms",
        {{"requests", n}});
    return finish(hostile_status::ok, "still connected, never having read");
  }

  // RouteMonitor's rules (docs/protocol.md, Routing): ADD_ROUTE and DEL_ROUTE are
  // accepted only from the immediate child they describe.
  int route_abuse() {
    if (int st = handshake()) return st;
    const std::uint32_t target = *o_.target;
    // A grandchild of ours: ids far above what the mux allocates.
    const std::uint32_t grandchild =
        0x70000000u + (static_cast<std::uint32_t>(::getpid()) & 0xffff) * 2;
    const std::uint32_t forged = grandchild + 1;
    auto send = [&](raw::frame f, const std::string& what) {
      int err = c_.send_all(raw::encode(f), hold_end());
      if (err == 0) did(what, {{"handle", f.handle}, {"body", f.data}, {"src_id", f.src_id}});
      return err;
    };
    raw::frame dup = request(mux_id_, handle::add_route, 0, std::to_string(target) + ":stolen");
    raw::frame del = request(mux_id_, handle::del_route, 0, std::to_string(target));
    raw::frame own =
        request(mux_id_, handle::add_route, 0, std::to_string(grandchild) + ":grandchild");
    raw::frame nonchild =
        request(mux_id_, handle::add_route, 0, std::to_string(forged) + ":forged");
    nonchild.src_id = grandchild;  // from our grandchild, not from an immediate child
    std::string body = raw::pattern(o_.seed, 0, 32);
    raw::frame echo = request(target, worker_echo_handle, reply_handle, body);
    raw::frame probe = request(forged, worker_echo_handle, check_handle, "to the forged route");
    int err = 0;
    if (!err) err = send(dup, "sent a duplicate ADD_ROUTE for context " + std::to_string(target));
    if (!err)
      err = send(del, "sent DEL_ROUTE for context " + std::to_string(target) +
                          ", whose route is not via us");
    if (!err) err = send(own, "sent ADD_ROUTE for our grandchild " + std::to_string(grandchild));
    if (!err)
      err = send(nonchild, "sent ADD_ROUTE for " + std::to_string(forged) + " from " +
                               std::to_string(grandchild) + ", not an immediate child");
    if (!err) err = send(echo, "sent an echo request to context " + std::to_string(target));
    if (!err) err = send(probe, "sent a request to the forged context " + std::to_string(forged));
    if (err) return finish(hostile_status::unexpected, "writing failed: " + err_name(err));
    bool echoed = false, refused = false;
    auto end = hold_end();
    while (!(echoed && refused)) {
      int rerr = 0;
      auto r = c_.read_frame(end, &rerr);
      if (!r)
        return finish(hostile_status::unexpected,
                      (echoed ? "no dead reply for the forged context " + std::to_string(forged)
                              : "no echo from context " + std::to_string(target) +
                                    ": its route is gone or changed") +
                          " (" + err_name(rerr) + ")");
      if (r->handle == worker_echo_handle)
        return finish(hostile_status::unexpected,
                      "a request for another context was routed to us (to " +
                          std::to_string(r->dst_id) + " from " + std::to_string(r->src_id) +
                          "): a bogus route was applied");
      if (r->handle == reply_handle) {
        if (r->dead() || r->src_id != target || r->data != body)
          return finish(hostile_status::unexpected,
                        "the echo from context " + std::to_string(target) + " came back wrong" +
                            (r->dead() ? ": dead " + printable(r->data) : std::string()));
        saw("the echo came from context " + std::to_string(target) + ": its route is unchanged");
        echoed = true;
      } else if (r->handle == check_handle) {
        if (!r->dead())
          return finish(hostile_status::unexpected,
                        "the request to the forged context " + std::to_string(forged) +
                            " was answered: the forged route was applied");
        saw("dead reply for the forged context: " + printable(r->data), {{"reason", r->data}});
        refused = true;
      }
    }
    return finish(hostile_status::ok, "routes unchanged by the bogus ADD_ROUTE/DEL_ROUTE");
  }

  // Part of a frame, then shutdown(SHUT_WR) with the socket kept open: the
  // mux reads EOF mid-frame and must close its side at once (a reader that
  // does not treat that EOF as the end spins on it).
  int half_close(bool mid_body) {
    if (int st = handshake()) return st;
    std::string bytes = raw::encode(
        request(mux_id_, unknown_handle, reply_handle, raw::pattern(o_.seed, 0, o_.size)));
    std::size_t cut = mid_body ? header_size + o_.size / 2 : header_size / 2;
    if (int err = c_.send_all(std::string_view(bytes).substr(0, cut), hold_end()); err != 0)
      return finish(hostile_status::unexpected, "writing the frame failed: " + err_name(err));
    if (::shutdown(c_.fd(), SHUT_WR) != 0)
      return finish(hostile_status::bad_input, "shutdown(SHUT_WR) failed: " + err_name(errno));
    did("sent " + std::to_string(cut) + " of " + std::to_string(bytes.size()) +
            " frame bytes, then shutdown(SHUT_WR), keeping the socket open",
        {{"bytes", cut}, {"frame_bytes", bytes.size()}});
    if (c_.wait_closed(hold_end())) {
      saw("the mux closed the connection", {{"after_ms", elapsed_ms()}});
      return finish(hostile_status::ok, "the mux closed the half-closed connection");
    }
    saw("still connected after " + std::to_string(o_.hold_ms) + " ms");
    return finish(hostile_status::unexpected,
                  "the mux did not close the half-closed connection "
                  "within " +
                      std::to_string(o_.hold_ms) + " ms");
  }

  // shutdown(SHUT_RD), then requests whose dead replies the mux cannot
  // deliver: its send meets EPIPE while our socket still sends. With
  // close_at_once, a burst of requests and a close, so that the mux sees
  // the requests, the EPIPE of their replies and the EOF in one pass.
  int shut_rd(bool close_at_once) {
    if (int st = handshake()) return st;
    if (::shutdown(c_.fd(), SHUT_RD) != 0)
      return finish(hostile_status::bad_input, "shutdown(SHUT_RD) failed: " + err_name(errno));
    auto one = [&](int i) {
      return raw::encode(request(mux_id_, unknown_handle, reply_handle,
                                 raw::pattern(o_.seed, static_cast<std::uint64_t>(i), 16)));
    };
    if (close_at_once) {
      std::string burst;
      for (int i = 0; i < 50; ++i) burst += one(i);
      int err = c_.send_all(burst, hold_end());
      did("shutdown(SHUT_RD), 50 requests to handle 4999 of the mux, then close",
          {{"error", err ? err_name(err) : ""}});
      c_.close();
      return finish(hostile_status::ok, "closed after shutdown(SHUT_RD) and 50 requests");
    }
    did("shutdown(SHUT_RD), sending requests to handle 4999 of the mux until it disconnects");
    auto end = hold_end();
    for (int i = 0; clock::now() < end; ++i) {
      int err = c_.send_all(one(i), end);
      if (is_disconnect(err)) {
        saw("the mux closed the connection after " + std::to_string(i) +
                " requests: " + err_name(err),
            {{"requests", i}, {"after_ms", elapsed_ms()}});
        return finish(hostile_status::ok, "disconnected by the mux");
      }
      if (err != 0 && err != ETIMEDOUT)
        return finish(hostile_status::unexpected, "writing failed: " + err_name(err));
      std::this_thread::sleep_for(ms(2));
    }
    saw("still connected after " + std::to_string(o_.hold_ms) + " ms");
    return finish(hostile_status::unexpected,
                  "the mux did not disconnect us within " + std::to_string(o_.hold_ms) + " ms");
  }

  const hostile_options& o_;
  const char* name_;
  event_log log_;
  raw::client c_;
  std::uint32_t id_ = 0, mux_id_ = 0;
  clock::time_point started_;
};

}  // namespace

const char* behaviour_name(behaviour b) {
  for (const auto& e : names)
    if (e.b == b) return e.name;
  return "?";
}

std::optional<behaviour> parse_behaviour(std::string_view name) {
  for (const auto& e : names)
    if (name == e.name) return e.b;
  return std::nullopt;
}

std::string behaviour_names() {
  std::string out;
  for (const auto& e : names) {
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

std::string check_options(const hostile_options& o) {
  const char* name = behaviour_name(o.what);
  if (o.connect.empty()) return "--connect PATH is required";
  if (needs_target(o.what) && !o.target)
    return std::string("--behave ") + name +
           " needs --target ID: the context id of an echo worker (a plain `faultmux worker`)";
  if (o.hold_ms < 0) return "--hold-ms must be 0 or more";
  if (o.what == behaviour::short_pid && (o.pid_bytes < 0 || o.pid_bytes > 3))
    return "--pid-bytes must be 0, 1, 2 or 3 (a whole pid is 4 bytes), got " +
           std::to_string(o.pid_bytes);
  if ((o.what == behaviour::oversize_plus_1 || o.what == behaviour::oversize_body) &&
      o.max_message_size >= 0xffffffffull)
    return "--max-message-size must be below 4294967295 for " + std::string(name) +
           ": max + 1 has to fit the 32-bit data_len";
  if (o.what == behaviour::oversize_body && o.max_message_size > (1ull << 30))
    return "--max-message-size above 1 GiB: oversize-body would hold max + 1 bytes in memory; "
           "run the mux with a smaller --max-message-size and pass the same value here";
  if (o.count < 0) return "--count must be 0 or more";
  return {};
}

int run_hostile(const hostile_options& opts) {
  hostile_options o = opts;
  if (o.size == 0) o.size = o.what == behaviour::slow_reader ? 65536 : 64;
  if (std::string why = check_options(o); !why.empty()) {
    std::fprintf(stderr, "faultmux worker --behave %s: %s\n", behaviour_name(o.what), why.c_str());
    return hostile_status::bad_input;
  }
  return hostile_run(o).run();
}

}  // namespace faultmux::faults
