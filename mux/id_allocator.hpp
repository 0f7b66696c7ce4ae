// Context ids, as Mitogen hands them out: the root context counts them and
// answers ALLOCATE_ID with a block (first, end); any other context asks the
// root for a block when its own runs out.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace faultmux {

class node;

class id_allocator {
 public:
  static constexpr std::uint32_t block_size = 1000;

  // In the root (no parent) this also serves ALLOCATE_ID.
  explicit id_allocator(node& n);
  // Broker thread: done gets a fresh id, or nullopt when the root cannot be
  // asked or refused.
  void allocate(std::function<void(std::optional<std::uint32_t>)> done);

 private:
  node& node_;
  std::uint32_t next_ = 0, end_ = 0;
  std::vector<std::function<void(std::optional<std::uint32_t>)>> waiting_;
  bool asking_ = false;
};

}  // namespace faultmux
