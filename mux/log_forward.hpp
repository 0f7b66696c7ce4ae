// Sends a context's log records to its parent as FORWARD_LOG messages, where
// they are re-emitted under the context's name. Falls back to stderr while
// no parent stream is up.
#pragma once

#include <cstdint>
#include <memory>

namespace faultmux {

class node;

// Makes the default logger forward to the parent of `n`'s router. Records
// from any thread are queued to the broker thread, in order.
void forward_logs_to_parent(node& n);

}  // namespace faultmux
