// The functions every context serves as module "faultmux.builtins", for
// workloads and tests; a Python Mitogen client reaches them with an ordinary
// context.call() of a function whose __module__ is "faultmux.builtins".
#pragma once

#include <chrono>

#include "mux/call.hpp"
#include "mux/children.hpp"
#include "mux/dispatcher.hpp"
#include "mux/node.hpp"

namespace faultmux {

inline constexpr const char* builtins_module = "faultmux.builtins";

// echo(value) -> value; sleep(ms); checksum(data) -> crc32; make_bytes(n)
// -> bytes; getpid(); exit(code) and crash() on purpose; fail(message);
// start_child(name) -> id; call_child(context_id, function, args) -> its
// result; echo_all(*args, **kwargs) -> (args, kwargs); caller_ids() ->
// (src_id, auth_id) of the call it serves; for tests of a context's output:
// write_stderr(data), spew(n) (n bytes, no newline, on stderr) and
// log(levelno, message). Arguments bind by position, then by keyword, as in
// Python (roles/builtin_args.hpp).
void add_builtins(function_table& t, node& n, caller& calls, children& kids);

// The payload and checks a call workload uses: deterministic bytes.
std::uint32_t crc32_of(std::string_view bytes);

}  // namespace faultmux
