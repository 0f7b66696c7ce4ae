#include "mux/waiting_requests.hpp"

#include <algorithm>

namespace faultmux {

void waiting_requests::add(const request_key& k) {
  entry& e = table_[key_of(k.requester, k.reply_handle)];
  ++size_;
  if (e.count == 0 || e.respondent == k.respondent) {
    e.respondent = k.respondent;
    ++e.count;
    return;
  }
  auto it = std::lower_bound(e.more.begin(), e.more.end(), std::make_pair(k.respondent, 0u));
  if (it != e.more.end() && it->first == k.respondent)
    ++it->second;
  else
    e.more.insert(it, {k.respondent, 1});
}

bool waiting_requests::settle(std::uint32_t requester, std::uint32_t reply_handle,
                              std::optional<std::uint32_t> respondent) {
  auto found = table_.find(key_of(requester, reply_handle));
  if (found == table_.end()) return false;
  entry& e = found->second;
  // The inline respondent stands for the lowest id only when no other is
  // lower; a dead message ends that lowest one.
  std::uint32_t want = respondent.value_or(
      e.more.empty() ? e.respondent : std::min(e.respondent, e.more.front().first));
  if (e.respondent == want) {
    --size_;
    if (--e.count > 0) return true;
    if (e.more.empty()) {
      table_.erase(found);
    } else {
      std::tie(e.respondent, e.count) = e.more.front();
      e.more.erase(e.more.begin());
    }
    return true;
  }
  auto it = std::lower_bound(e.more.begin(), e.more.end(), std::make_pair(want, 0u));
  if (it == e.more.end() || it->first != want) return false;
  --size_;
  if (--it->second == 0) e.more.erase(it);
  return true;
}

std::vector<request_key> waiting_requests::take(std::optional<std::uint32_t> respondent) {
  std::vector<request_key> out;
  auto take_count = [&](std::uint64_t key, std::uint32_t id, std::uint32_t n) {
    for (std::uint32_t i = 0; i < n; ++i)
      out.push_back({static_cast<std::uint32_t>(key >> 32), static_cast<std::uint32_t>(key), id});
    size_ -= n;
  };
  for (auto it = table_.begin(); it != table_.end();) {
    entry& e = it->second;
    if (!respondent || e.respondent == *respondent) {
      take_count(it->first, e.respondent, e.count);
      e.count = 0;
    }
    for (auto m = e.more.begin(); m != e.more.end();) {
      if (respondent && m->first != *respondent) {
        ++m;
        continue;
      }
      take_count(it->first, m->first, m->second);
      m = e.more.erase(m);
    }
    if (e.count == 0 && !e.more.empty()) {
      std::tie(e.respondent, e.count) = e.more.front();
      e.more.erase(e.more.begin());
    }
    // Erasing leaves the other elements where they are.
    if (e.count == 0)
      table_.erase(it++);
    else
      ++it;
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace faultmux
