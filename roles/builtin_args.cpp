#include "roles/builtin_args.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace faultmux {

builtin_args::builtin_args(std::string_view fn, std::initializer_list<std::string_view> params,
                           const pickle::tuple& args, const pickle::kwargs& kwargs)
    : fn_(fn), params_(params.begin(), params.end()), bound_(params_.size(), nullptr) {
  for (std::size_t i = 0; i < args.items.size() && i < bound_.size(); ++i)
    bound_[i] = &args.items[i];
  for (const auto& [k, v] : kwargs.items) {
    const auto* key = k.get<pickle::text>();
    std::string name = key ? key->utf8 : pickle::to_string(k);
    std::size_t i = 0;
    while (i < params_.size() && params_[i] != name) ++i;
    if (i == params_.size())
      throw std::invalid_argument(
          fmt::format("{}() got an unexpected keyword argument '{}'", fn_, name));
    if (bound_[i])
      throw std::invalid_argument(
          fmt::format("{}() got multiple values for argument '{}'", fn_, name));
    bound_[i] = &v;
  }
}

const pickle::value& builtin_args::at(std::size_t i) const {
  if (!bound_.at(i))
    throw std::invalid_argument(
        fmt::format("{}() missing required argument: '{}'", fn_, params_[i]));
  return *bound_[i];
}

std::int64_t builtin_args::integer(std::size_t i) const {
  const auto* v = at(i).get<std::int64_t>();
  if (!v)
    throw std::invalid_argument(fmt::format("{}(): argument '{}' must be an int", fn_, params_[i]));
  return *v;
}

std::string builtin_args::bytes(std::size_t i) const {
  const pickle::value& v = at(i);
  if (const auto* b = v.get<pickle::bytes>()) return b->data;
  if (const auto* b = v.get<pickle::blob>()) return b->data;
  throw std::invalid_argument(
      fmt::format("{}(): argument '{}' must be bytes, got {}", fn_, params_[i], v.type_name()));
}

}  // namespace faultmux
