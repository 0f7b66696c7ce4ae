// Sends a context's log records to its parent as FORWARD_LOG messages, where
// they are re-emitted under the context's name. Falls back to stderr while
// no parent stream is up.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace faultmux {

class node;

// Makes the default logger forward to the parent of `n`'s router. Records
// from any thread are queued to the broker thread, in order.
void forward_logs_to_parent(node& n);

// Waits, at most `timeout`, until every record logged before the call is
// in the kernel's hands (routed, and no stream has bytes left to write): a
// context that ends itself on purpose says why first. Any thread but the
// broker's.
void flush_forwarded_logs(node& n, std::chrono::milliseconds timeout);

}  // namespace faultmux
