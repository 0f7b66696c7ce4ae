#include "harness/context_service.hpp"

#include "mux/dispatcher.hpp"
#include "mux/log.hpp"
#include "mux/pickle.hpp"

namespace faultmux {
namespace {

constexpr const char* service_name = "faultmux.ContextService";

std::string pickled_error(const std::string& text) {
  return *pickle::encode(pickle::call_error{text});
}

}  // namespace

context_service::context_service(node& n, children& kids) : node_(n), kids_(kids) {
  const router_config& cfg = n.get_router().config();
  n.get_router().add_handler(
      [this](message& m) { on_request(m); },
      {.handle = handle::call_service,
       .persist = true,
       .policy = [self = cfg.context_id, parents = cfg.parent_ids](
                     const message& m, peer*) { return has_parent_authority(m, self, parents); },
       .respondent = {}});
  auto previous = kids_.on_gone;
  kids_.on_gone = [this, previous](const context_info& info) {
    auto it = live_.find(info.name);
    if (it != live_.end() && it->second.id == info.id) live_.erase(it);
    if (previous) previous(info);
  };
}

void context_service::reply(const waiter& w, const std::string& body) {
  message r;
  r.dst_id = w.dst;
  r.handle = w.handle;
  r.data = body;
  node_.get_router().route(std::move(r));
}

void context_service::on_request(message& m) {
  if (m.is_dead()) return;
  waiter w{m.src_id, m.reply_to};
  auto req = pickle::decode(m.data);
  const auto* t = req ? req->get<pickle::tuple>() : nullptr;
  const pickle::text* service =
      t && t->items.size() == 3 ? t->items[0].get<pickle::text>() : nullptr;
  const pickle::text* method =
      t && t->items.size() == 3 ? t->items[1].get<pickle::text>() : nullptr;
  const pickle::kwargs* kw =
      t && t->items.size() == 3 ? t->items[2].get<pickle::kwargs>() : nullptr;
  const pickle::text* name = nullptr;
  if (kw) {
    for (const auto& [k, v] : kw->items) {
      if (const auto* key = k.get<pickle::text>(); key && key->utf8 == "name")
        name = v.get<pickle::text>();
    }
  }
  std::string problem;
  if (!service || !method || !kw)
    problem = "mitogen.core.CallError: a CALL_SERVICE body must be (service, method, Kwargs)";
  else if (service->utf8 != service_name)
    problem = fmt::format("mitogen.core.CallError: no service {} here (only {})", service->utf8,
                          service_name);
  else if (method->utf8 != "get")
    problem =
        fmt::format("mitogen.core.CallError: {} has no method {}", service_name, method->utf8);
  else if (!name || name->utf8.empty())
    problem = fmt::format("mitogen.core.CallError: {}.get() needs name=<str>", service_name);
  if (!problem.empty()) {
    spdlog::warn("context service: request from context {} refused: {}", m.src_id, problem);
    if (m.reply_to) reply(w, pickled_error(problem));
    return;
  }
  const std::string key = name->utf8;
  if (auto it = live_.find(key); it != live_.end()) {
    if (m.reply_to)
      reply(w, *pickle::encode(pickle::dict{
                   {{"context", pickle::context_ref{it->second.id, it->second.name}}}}));
    return;
  }
  auto& queue = starting_[key];
  queue.push_back(w);
  if (queue.size() > 1) return;  // already starting: answer with the others
  kids_.start(key, [this, key](std::optional<context_info> info, const std::string& err) {
    auto waiters = std::move(starting_[key]);
    starting_.erase(key);
    std::string body;
    if (info) {
      live_[key] = *info;
      body =
          *pickle::encode(pickle::dict{{{"context", pickle::context_ref{info->id, info->name}}}});
    } else {
      body = pickled_error("faultmux.ContextStartFailed: " + err);
    }
    for (const waiter& w : waiters)
      if (w.handle) reply(w, body);
  });
}

}  // namespace faultmux
