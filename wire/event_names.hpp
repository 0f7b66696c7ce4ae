// Every event name of faultmux, listed once: who writes it, its fields and
// what it means. Emit sites use these constants (an event_kind converts to
// its name); tests/event_names_test.cpp checks that every name emitted in
// the source tree is here and that nothing here is unused, and that
// docs/events.md is this table rendered.
#pragma once

#include <cstddef>
#include <iterator>
#include <string_view>

namespace faultmux::wire {

// One event: the "event" value of its lines, the processes that write it,
// the fields beyond t, pid, role and event, and a line on what it means.
struct event_kind {
  std::string_view name;
  std::string_view writers;
  std::string_view fields;
  std::string_view meaning;
  constexpr operator std::string_view() const { return name; }  // NOLINT: used as the name
};

namespace ev {

inline constexpr event_kind accept_error{
    "accept_error", "mux", "errno",
    "accept(2) on the listening socket failed; the listener keeps accepting"};
inline constexpr event_kind accept_recovered{
    "accept_recovered", "mux", "failures",
    "accept(2) worked again after that many failures in a row"};
inline constexpr event_kind bad_auth_id{
    "bad_auth_id", "mux", "stream, auth_id",
    "a message claimed an auth_id its stream may not use; it was dropped"};
inline constexpr event_kind bad_src_id{
    "bad_src_id", "mux", "stream, src_id",
    "a message claimed a src_id that is not its stream's; it was dropped"};
inline constexpr event_kind call{
    "call", "worker (call workload)", "seq, function, relayed_by, outcome, ms, error",
    "one call of the call workload finished (ok, dead, error or timeout)"};
inline constexpr event_kind call_served{"call_served", "mux, context", "function, from, ms, ok",
                                        "a node ran a call sent to it and replied"};
inline constexpr event_kind child_abandoned{
    "child_abandoned", "mux", "child, child_pid, errno",
    "the mux may not signal a child (kill() failed): it is left to end by itself, unreaped"};
inline constexpr event_kind child_exit{"child_exit", "mux", "child, child_pid, status",
                                       "a child the mux started exited"};
inline constexpr event_kind child_output{"child_output", "mux", "child, stream, line",
                                         "a line a child printed on stdout or stderr"};
inline constexpr event_kind child_start{"child_start", "mux", "child, child_pid",
                                        "the mux started a child process"};
inline constexpr event_kind connect_failed{"connect_failed", "worker", "path, errno, detail",
                                           "the worker could not connect to the mux's socket"};
inline constexpr event_kind connected{"connected", "worker", "context_id, parent_id",
                                      "the worker's handshake is done: the ids the mux assigned"};
inline constexpr event_kind connection_lost{"connection_lost", "worker", "errno",
                                            "the worker's connection to the mux closed under it"};
inline constexpr event_kind context_ready{"context_ready", "mux", "context, context_id, child_pid",
                                          "a context the mux started said hello"};
inline constexpr event_kind context_start_failed{"context_start_failed", "mux", "context, why",
                                                 "a context the mux started never became ready"};
inline constexpr event_kind dead{
    "dead", "mux", "reason, dst, handle, respondent",
    "the router answered a message with a dead reply (no route, disconnect, too big...)"};
inline constexpr event_kind disconnect{
    "disconnect", "mux, worker, context", "stream, errno, why, dropped_bytes",
    "a stream closed; the bytes still queued for it were dropped"};
inline constexpr event_kind exit{"exit", "mux, context, fake-listener", "code",
                                 "the process is exiting with that code"};
inline constexpr event_kind fake_answer{
    "fake_answer", "fake-listener", "answered_bytes, pid_bytes, client_pid",
    "the fake listener answered (or failed to answer) a client's handshake"};
inline constexpr event_kind fault{
    "fault", "shim, driver, fault command, worker, mux, context",
    "kind, target_pid, ...; the shim: index, call, fd, fd_class, peer, peer_pid, phase, conn_n, "
    "rule, rule_text, n, effect, ret, errno, offset",
    "a fault was injected (the shim's lines name the call and the rule)"};
inline constexpr event_kind fault_continued{"fault_continued", "mux, worker", "kind, phase, action",
                                            "a stopped-at-a-phase process resumed past the fault"};
inline constexpr event_kind fault_failed{"fault_failed", "fault command",
                                         "kind, target_pid, signal, errno",
                                         "a timed signal could not be delivered"};
inline constexpr event_kind frame_part_sent{
    "frame_part_sent", "worker", "bytes, frame_bytes",
    "the worker sent only part of a frame (a phase fault cut it)"};
inline constexpr event_kind got_context{"got_context", "worker (call workload)",
                                        "context, context_id",
                                        "the workload learned the id of the context it calls"};
inline constexpr event_kind group_not_started{
    "group_not_started", "driver", "group, why",
    "no worker of a peer group reported its context id, so the group's workload never started"};
inline constexpr event_kind handshake{
    "handshake", "mux", "pid, context_id, ms",
    "a client's handshake finished: its pid and the context id it was given"};
inline constexpr event_kind handshake_failed{
    "handshake_failed", "mux", "pid, got, errno, detail, why, uid",
    "a client's handshake failed (short pid, EOF, uid mismatch)"};
inline constexpr event_kind hang{"hang", "driver", "what",
                                 "the run hit its timeout with processes still running"};
inline constexpr event_kind hostile{
    "hostile", "hostile", "behaviour, step, what, ...",
    "one step of a hostile peer: what it did or saw (step: did, saw)"};
inline constexpr event_kind hostile_done{"hostile_done", "hostile", "behaviour, status, outcome",
                                         "the hostile peer finished; status is its exit code"};
inline constexpr event_kind hostile_start{"hostile_start", "hostile", "behaviour, path",
                                          "a hostile peer starts against the mux's socket"};
inline constexpr event_kind listener_closed{"listener_closed", "mux", "path",
                                            "the mux stopped listening"};
inline constexpr event_kind listener_crashed{
    "listener_crashed", "mux", "bug, errno",
    "a legacy bug of the listener (crash-on-eagain, epipe-crash, accept-crash) closed the "
    "listening socket"};
inline constexpr event_kind listening{"listening", "mux", "path, backlog",
                                      "the mux listens on its socket"};
inline constexpr event_kind log{"log", "mux, worker, context, external target", "level, msg",
                                "a log line at warning or above"};
inline constexpr event_kind mux_stop{"mux_stop", "driver", "signal",
                                     "the driver asked the mux to stop"};
inline constexpr event_kind output_cap{
    "output_cap", "mux", "stream, queued, cap",
    "a stream's output queue reached its cap; the stream is closed"};
inline constexpr event_kind probe{
    "probe", "driver", "ok, detail",
    "the end-of-run probe's result: a fresh client's call through the mux"};
inline constexpr event_kind probe_start{"probe_start", "driver", "", "the end-of-run probe starts"};
inline constexpr event_kind protocol_error{
    "protocol_error", "mux, worker, context", "stream, detail",
    "a stream sent bytes that are not a valid frame; it is closed"};
inline constexpr event_kind reply{"reply", "worker", "seq, outcome, reason, error, ms",
                                  "the echo workload got a reply (ok, dead or mismatch)"};
inline constexpr event_kind shutdown_done{"shutdown_done", "mux", "",
                                          "the mux's graceful shutdown finished"};
inline constexpr event_kind shutdown_stream{"shutdown_stream", "mux", "stream, queued_bytes",
                                            "shutdown is draining a stream"};
inline constexpr event_kind spawn{"spawn", "driver", "name, group, index",
                                  "the driver started a process"};
inline constexpr event_kind stale_socket{"stale_socket", "driver", "path, errno",
                                         "the driver left a stale socket file for the mux to find"};
inline constexpr event_kind stream_open{"stream_open", "mux, worker, context", "stream, context_id",
                                        "a stream to another context opened"};
inline constexpr event_kind target_gone{
    "target_gone", "driver", "gone",
    "whether the target mux had already exited when the driver stopped it"};
inline constexpr event_kind workers_started{"workers_started", "driver", "workers, ms",
                                            "every worker said hello"};
inline constexpr event_kind workers_stop{"workers_stop", "driver", "signal",
                                         "the driver asked the workers to stop"};
inline constexpr event_kind workload_done{
    "workload_done", "worker",
    "count, ok, failed, seconds, p50_us, p99_us, max_us (call workload: p50_ms, p99_ms)",
    "a workload finished: counts and latencies"};
inline constexpr event_kind workload_failed{"workload_failed", "worker", "why",
                                            "a workload gave up"};

}  // namespace ev

// Every event above, in name order.
inline constexpr event_kind event_catalog[] = {ev::accept_error,
                                               ev::accept_recovered,
                                               ev::bad_auth_id,
                                               ev::bad_src_id,
                                               ev::call,
                                               ev::call_served,
                                               ev::child_abandoned,
                                               ev::child_exit,
                                               ev::child_output,
                                               ev::child_start,
                                               ev::connect_failed,
                                               ev::connected,
                                               ev::connection_lost,
                                               ev::context_ready,
                                               ev::context_start_failed,
                                               ev::dead,
                                               ev::disconnect,
                                               ev::exit,
                                               ev::fake_answer,
                                               ev::fault,
                                               ev::fault_continued,
                                               ev::fault_failed,
                                               ev::frame_part_sent,
                                               ev::got_context,
                                               ev::group_not_started,
                                               ev::handshake,
                                               ev::handshake_failed,
                                               ev::hang,
                                               ev::hostile,
                                               ev::hostile_done,
                                               ev::hostile_start,
                                               ev::listener_closed,
                                               ev::listener_crashed,
                                               ev::listening,
                                               ev::log,
                                               ev::mux_stop,
                                               ev::output_cap,
                                               ev::probe,
                                               ev::probe_start,
                                               ev::protocol_error,
                                               ev::reply,
                                               ev::shutdown_done,
                                               ev::shutdown_stream,
                                               ev::spawn,
                                               ev::stale_socket,
                                               ev::stream_open,
                                               ev::target_gone,
                                               ev::workers_started,
                                               ev::workers_stop,
                                               ev::workload_done,
                                               ev::workload_failed};

// Sorted and without repeats, so each name has one row.
constexpr bool event_catalog_is_sorted() {
  for (std::size_t i = 1; i < std::size(event_catalog); ++i)
    if (!(event_catalog[i - 1].name < event_catalog[i].name)) return false;
  return true;
}
static_assert(event_catalog_is_sorted(), "event_catalog: keep it sorted, one row per name");

}  // namespace faultmux::wire
