#include "roles/builtins.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <future>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <boost/crc.hpp>

#include "mux/coverage.hpp"
#include "mux/log.hpp"
#include "mux/log_forward.hpp"
#include "roles/builtin_args.hpp"
#include "roles/payload.hpp"

namespace faultmux {
namespace {

using pickle::value;

void write_all(int fd, std::string_view b) {
  while (!b.empty()) {
    ssize_t n = ::write(fd, b.data(), b.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "write");
    b.remove_prefix(static_cast<std::size_t>(n));
  }
}

value sleep_ms(const pickle::tuple& a, const pickle::kwargs& kw) {
  std::int64_t ms = builtin_args("sleep", {"ms"}, a, kw).integer(0);
  if (ms < 0 || ms > 600000) throw std::invalid_argument("sleep(): ms must be 0..600000");
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return value(pickle::none);
}

value make_bytes(const pickle::tuple& a, const pickle::kwargs& kw) {
  std::int64_t size = builtin_args("make_bytes", {"n"}, a, kw).integer(0);
  if (size < 0 || size > (std::int64_t{1} << 30))
    throw std::invalid_argument("make_bytes(): n must be 0..2^30");
  return value(pickle::bytes{
      make_payload(static_cast<std::uint64_t>(size), static_cast<std::size_t>(size))});
}

value fail(const pickle::tuple& a, const pickle::kwargs& kw) {
  builtin_args b("fail", {"message"}, a, kw);
  const auto* msg = b.has(0) ? b.at(0).get<pickle::text>() : nullptr;
  throw std::runtime_error(msg ? msg->utf8 : "failed on purpose");
}

// The request's ids as this context received them: a unix client's calls
// carry the mux's id as auth_id (stamping), which passed the
// parent-authority check for the call to run at all.
value caller_ids(const pickle::tuple& a, const pickle::kwargs& kw) {
  builtin_args("caller_ids", {}, a, kw);
  auto origin = current_call_origin();
  if (!origin) throw std::logic_error("caller_ids(): not serving a call");
  return value(pickle::tuple{
      {static_cast<std::int64_t>(origin->src_id), static_cast<std::int64_t>(origin->auth_id)}});
}

// Every argument back, positional and keyword, so a peer can check how each
// of its argument types arrived.
value echo_all(const pickle::tuple& a, const pickle::kwargs& kw) {
  return value(pickle::tuple{{a, pickle::dict{kw.items}}});
}

value write_stderr(const pickle::tuple& a, const pickle::kwargs& kw) {
  std::string b = builtin_args("write_stderr", {"data"}, a, kw).bytes(0);
  write_all(STDERR_FILENO, b);
  return value(static_cast<std::int64_t>(b.size()));
}

value spew(const pickle::tuple& a, const pickle::kwargs& kw) {
  std::int64_t n = builtin_args("spew", {"n"}, a, kw).integer(0);
  if (n < 0 || n > (std::int64_t{1} << 30))
    throw std::invalid_argument("spew(): n must be 0..2^30");
  std::string chunk(64 * 1024, 'A');
  for (std::int64_t left = n; left > 0; left -= static_cast<std::int64_t>(chunk.size()))
    write_all(STDERR_FILENO,
              std::string_view(chunk).substr(
                  0, static_cast<std::size_t>(std::min<std::int64_t>(left, chunk.size()))));
  return value(n);
}

// n warning records of `size` bytes each, as fast as they can be logged: a
// context flooding its parent with FORWARD_LOG.
value log_burst(const pickle::tuple& a, const pickle::kwargs& kw) {
  builtin_args b("log_burst", {"n", "size"}, a, kw);
  const std::int64_t n = b.integer(0), size = b.integer(1);
  if (n < 0 || n > 10'000'000 || size < 0 || size > (1 << 20))
    throw std::invalid_argument("log_burst(): n must be 0..10^7 and size 0..2^20");
  const std::string text(static_cast<std::size_t>(size), 'L');
  for (std::int64_t i = 0; i < n; ++i) spdlog::warn("burst {} {}", i, text);
  return value(n);
}

// A record at a Python level number, which the parent re-emits under our name.
value log_record(const pickle::tuple& a, const pickle::kwargs& kw) {
  builtin_args b("log", {"levelno", "message"}, a, kw);
  std::int64_t levelno = b.integer(0);
  const auto* msg = b.at(1).get<pickle::text>();
  if (!msg) throw std::invalid_argument("log(): message must be str");
  auto level = levelno >= 50   ? spdlog::level::critical
               : levelno >= 40 ? spdlog::level::err
               : levelno >= 30 ? spdlog::level::warn
               : levelno >= 20 ? spdlog::level::info
               : levelno >= 10 ? spdlog::level::debug
                               : spdlog::level::trace;
  spdlog::log(level, "{}", msg->utf8);
  return value(pickle::none);
}

// Starts a child context on the broker thread and waits for its id.
value start_child(node& n, children& kids, const pickle::tuple& a, const pickle::kwargs& kw) {
  const auto* name = builtin_args("start_child", {"name"}, a, kw).at(0).get<pickle::text>();
  if (!name) throw std::invalid_argument("start_child(): name must be str");
  auto result =
      std::make_shared<std::promise<std::pair<std::optional<context_info>, std::string>>>();
  auto fut = result->get_future();
  n.get_broker().defer([&kids, name = name->utf8, result] {
    kids.start(name, [result](std::optional<context_info> info, const std::string& err) {
      result->set_value({info, err});
    });
  });
  if (fut.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
    throw std::runtime_error("start_child(): no outcome within 60 s");
  auto [info, err] = fut.get();
  if (!info) throw std::runtime_error(err);
  return value(static_cast<std::int64_t>(info->id));
}

value call_child(caller& calls, const pickle::tuple& a, const pickle::kwargs& kw) {
  builtin_args b("call_child", {"context_id", "function", "args"}, a, kw);
  call_spec spec;
  spec.context_id = static_cast<std::uint32_t>(b.integer(0));
  const auto* fname = b.at(1).get<pickle::text>();
  if (!fname) throw std::invalid_argument("call_child(): function must be str");
  spec.function = fname->utf8;
  if (b.has(2)) {
    const auto* args = b.at(2).get<pickle::tuple>();
    if (!args) throw std::invalid_argument("call_child(): args must be a tuple");
    spec.args = *args;
  }
  return calls.call(std::move(spec), std::chrono::seconds(120));
}

}  // namespace

std::uint32_t crc32_of(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

void add_builtins(function_table& t, node& n, caller& calls, children& kids) {
  const std::string m = builtins_module;
  // Quick (see function_table): no blocking, work bounded by the request.
  const bool quick = true;
  t.add(
      m, "echo",
      [](const pickle::tuple& a, const pickle::kwargs& kw) {
        return builtin_args("echo", {"value"}, a, kw).at(0);
      },
      quick);
  t.add(m, "sleep", sleep_ms);
  t.add(
      m, "checksum",
      [](const pickle::tuple& a, const pickle::kwargs& kw) {
        std::string data = builtin_args("checksum", {"data"}, a, kw).bytes(0);
        return value(static_cast<std::int64_t>(crc32_of(data)));
      },
      quick);
  t.add(m, "make_bytes", make_bytes);
  t.add(
      m, "getpid",
      [](const pickle::tuple& a, const pickle::kwargs& kw) {
        builtin_args("getpid", {}, a, kw);
        return value(::getpid());
      },
      quick);
  t.add(m, "exit", [&n](const pickle::tuple& a, const pickle::kwargs& kw) -> value {
    int code = static_cast<int>(builtin_args("exit", {"code"}, a, kw).integer(0));
    spdlog::warn("exit({}) called: exiting now", code);
    spdlog::default_logger()->flush();
    flush_forwarded_logs(n, std::chrono::seconds(1));
    flush_coverage();
    std::_Exit(code);
  });
  t.add(m, "crash", [](const pickle::tuple& a, const pickle::kwargs& kw) -> value {
    builtin_args("crash", {}, a, kw);
    flush_coverage();
    std::abort();
  });
  t.add(m, "fail", fail, quick);
  t.add(m, "caller_ids", caller_ids, quick);
  t.add(m, "echo_all", echo_all, quick);
  // Test aids for a context's output: bytes as they are on its stderr, and
  // a long write without a newline, which its parent must read in bounded memory.
  t.add(m, "write_stderr", write_stderr);
  t.add(m, "spew", spew);
  t.add(m, "log", log_record);
  t.add(m, "log_burst", log_burst);
  t.add(m, "start_child", [&n, &kids](const pickle::tuple& a, const pickle::kwargs& kw) {
    return start_child(n, kids, a, kw);
  });
  t.add(m, "call_child", [&calls](const pickle::tuple& a, const pickle::kwargs& kw) {
    return call_child(calls, a, kw);
  });
}

}  // namespace faultmux
