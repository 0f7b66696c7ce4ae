#include "roles/context_service.hpp"

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

context_service::context_service(node& n, children& kids) : node_(n), kids_(kids), calls_(n) {
  const router_config& cfg = n.get_router().config();
  n.get_router().add_handler(
      [this](message& m) { on_request(m); },
      {.handle = handle::call_service,
       .persist = true,
       .policy = [self = cfg.context_id, parents = cfg.parent_ids](
                     const message& m, peer*) { return has_parent_authority(m, self, parents); },
       .respondent = {}});
  previous_on_gone_ = kids_.on_gone;
  kids_.on_gone = [this](const context_info& info) {
    auto it = live_.find(info.name);
    if (it != live_.end() && it->second.id == info.id) live_.erase(it);
    if (previous_on_gone_) previous_on_gone_(info);
  };
  // A context started by another one is gone when its route is.
  previous_route_change_ = n.get_router().on_route_change;
  n.get_router().on_route_change = [this](std::uint32_t id, peer* via, bool added) {
    if (!added) std::erase_if(live_, [id](const auto& e) { return e.second.id == id; });
    if (previous_route_change_) previous_route_change_(id, via, added);
  };
}

context_service::~context_service() {
  node_.get_router().del_handler(handle::call_service);
  node_.get_router().on_route_change = std::move(previous_route_change_);
  kids_.on_gone = std::move(previous_on_gone_);
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
  acquire(name->utf8, [this, w](std::optional<context_info> info, const std::string& err) {
    if (!w.handle) return;
    if (info)
      reply(w, *pickle::encode(
                   pickle::dict{{{"context", pickle::context_ref{info->id, info->name}}}}));
    else
      reply(w, pickled_error("faultmux.ContextStartFailed: " + err));
  });
}

void context_service::start_up_front(const std::vector<std::string>& paths,
                                     std::function<void()> done) {
  if (paths.empty()) return done();
  auto left = std::make_shared<std::size_t>(paths.size());
  auto all = std::make_shared<std::function<void()>>(std::move(done));
  for (const auto& path : paths)
    acquire(path, [path, left, all](std::optional<context_info> info, const std::string& err) {
      if (!info) spdlog::error("context service: context {} did not start: {}", path, err);
      if (--*left == 0) (*all)();
    });
}

void context_service::acquire(const std::string& path, acquired_fn done) {
  if (auto it = live_.find(path); it != live_.end()) return done(it->second, "");
  auto& queue = starting_[path];
  queue.push_back(std::move(done));
  if (queue.size() > 1) return;  // already starting: answer with the others
  auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    kids_.start(path, [this, alive = std::weak_ptr(alive_), path](std::optional<context_info> info,
                                                                  const std::string& err) {
      if (!alive.expired()) acquired(path, info, err);
    });
    return;
  }
  // "a/b": b as a child of a, which it starts on our call.
  std::string parent = path.substr(0, slash), leaf = path.substr(slash + 1);
  if (parent.empty() || leaf.empty())
    return acquired(path, std::nullopt, fmt::format("bad context path {:?}", path));
  acquire(parent, [this, path, leaf](std::optional<context_info> p, const std::string& err) {
    std::weak_ptr alive(alive_);
    if (!p) return acquired(path, std::nullopt, err);
    call_spec spec;
    spec.context_id = p->id;
    spec.function = "start_child";
    spec.args.items.push_back(pickle::text{leaf});
    calls_.start(
        std::move(spec),
        [this, alive, path, p = *p](call_outcome out) {
          if (alive.expired()) return;
          const auto* id =
              out.what == call_outcome::kind::result ? out.result.get<std::int64_t>() : nullptr;
          if (!id)
            return acquired(
                path, std::nullopt,
                fmt::format("context {} could not start {}: {}", p.name, path,
                            out.error.empty() ? pickle::to_string(out.result) : out.error));
          acquired(path, context_info{static_cast<std::uint32_t>(*id), path, -1}, "");
        },
        std::chrono::seconds(60));
  });
}

void context_service::acquired(const std::string& path, std::optional<context_info> info,
                               const std::string& error) {
  auto waiters = std::move(starting_[path]);
  starting_.erase(path);
  if (info) live_[path] = *info;
  for (auto& done : waiters) done(info, error);
}

}  // namespace faultmux
