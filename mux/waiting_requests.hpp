// The requests a router forwarded toward one peer that still wait for their
// reply: what a dead message answers when that peer goes. Every request
// and every reply passes here, so it is a flat table keyed by (requester,
// reply handle) with a count per respondent, not a node per request.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

namespace faultmux {

struct request_key {
  std::uint32_t requester = 0, reply_handle = 0, respondent = 0;
  auto operator<=>(const request_key&) const = default;
};

class waiting_requests {
 public:
  void add(const request_key& k);
  // A reply from `respondent` to (requester, reply_handle) ends one request
  // it was asked; a dead message (respondent empty) ends one for any
  // respondent, the lowest id first. False when none waited.
  bool settle(std::uint32_t requester, std::uint32_t reply_handle,
              std::optional<std::uint32_t> respondent);
  // Removes and returns every request (all, or those asked of
  // `respondent`), one key per request, in key order.
  std::vector<request_key> take(std::optional<std::uint32_t> respondent);

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  // Respondent ids and how many requests each was asked; nearly always one.
  using counts = std::vector<std::pair<std::uint32_t, std::uint32_t>>;
  struct entry {
    std::uint32_t respondent = 0, count = 0;  // the first respondent, inline
    counts more;                              // any others, sorted by id
  };
  static std::uint64_t key_of(std::uint32_t requester, std::uint32_t reply_handle) {
    return (std::uint64_t{requester} << 32) | reply_handle;
  }

  boost::unordered_flat_map<std::uint64_t, entry> table_;
  std::size_t size_ = 0;
};

}  // namespace faultmux
