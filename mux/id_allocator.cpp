#include "mux/id_allocator.hpp"

#include "mux/log.hpp"
#include "mux/node.hpp"
#include "mux/pickle.hpp"

namespace faultmux {

id_allocator::id_allocator(node& n) : node_(n) {
  router& r = n.get_router();
  if (r.parent_id()) return;
  r.add_handler(
      [this](message& m) {
        if (!m.reply_to || m.is_dead()) return;
        std::uint32_t first = node_.allocate_ids(block_size);
        auto body = pickle::encode(pickle::tuple{{first, first + block_size}});
        message reply;
        reply.dst_id = m.src_id;
        reply.handle = m.reply_to;
        reply.data = *body;
        spdlog::debug("allocated ids [{}..{}) for context {}", first, first + block_size, m.src_id);
        node_.get_router().route(std::move(reply));
      },
      {.handle = handle::allocate_id, .persist = true, .policy = {}, .respondent = {}});
}

void id_allocator::allocate(std::function<void(std::optional<std::uint32_t>)> done) {
  router& r = node_.get_router();
  if (!r.parent_id()) return done(node_.allocate_id());
  if (next_ < end_) return done(next_++);
  waiting_.push_back(std::move(done));
  if (asking_) return;
  asking_ = true;
  std::uint32_t root = r.config().parent_ids.back();
  message m;
  m.dst_id = root;
  m.handle = handle::allocate_id;
  m.reply_to = r.add_handler(
      [this](message& reply) {
        asking_ = false;
        auto v = reply.is_dead() ? decltype(pickle::decode("")){} : pickle::decode(reply.data);
        const auto* t = v && v.has_value() ? v->get<pickle::tuple>() : nullptr;
        const std::int64_t* first =
            t && t->items.size() == 2 ? t->items[0].get<std::int64_t>() : nullptr;
        const std::int64_t* end =
            t && t->items.size() == 2 ? t->items[1].get<std::int64_t>() : nullptr;
        auto waiting = std::move(waiting_);
        waiting_.clear();
        if (!first || !end || *first >= *end) {
          spdlog::error("the root context refused or garbled an id block: {}",
                        reply.is_dead() ? reply.data : std::string("bad reply"));
          for (auto& w : waiting) w(std::nullopt);
          return;
        }
        next_ = static_cast<std::uint32_t>(*first);
        end_ = static_cast<std::uint32_t>(*end);
        for (auto& w : waiting) allocate(std::move(w));
      },
      {.handle = {}, .persist = false, .policy = {}, .respondent = root});
  r.route(std::move(m));
}

}  // namespace faultmux
