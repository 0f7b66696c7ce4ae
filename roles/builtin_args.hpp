// How a built-in's parameters are bound to a call's arguments: by position,
// then by keyword, as Python binds a def's parameters, so a Mitogen client's
// context.call(echo, value=...) works as echo(...) does.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "mux/value.hpp"

namespace faultmux {

class builtin_args {
 public:
  // Binds `args` then `kwargs` to `params` (the parameter names, in order)
  // of the built-in `fn`. Throws std::invalid_argument in Python's words for
  // a keyword that names no parameter ("f() got an unexpected keyword
  // argument 'x'") or one already given by position ("f() got multiple
  // values for argument 'x'"). Positional arguments past the parameters
  // are left unbound, as the built-ins always ignored them. The binding
  // refers into args and kwargs: they must outlive it.
  builtin_args(std::string_view fn, std::initializer_list<std::string_view> params,
               const pickle::tuple& args, const pickle::kwargs& kwargs);

  bool has(std::size_t i) const { return bound_[i] != nullptr; }
  // The i-th parameter's value; throws std::invalid_argument ("f() missing
  // required argument: 'x'") when the call gave none.
  const pickle::value& at(std::size_t i) const;
  // The i-th parameter as an int, or as bytes (a Blob too).
  std::int64_t integer(std::size_t i) const;
  std::string bytes(std::size_t i) const;

 private:
  std::string fn_;
  std::vector<std::string> params_;
  std::vector<const pickle::value*> bound_;
};

}  // namespace faultmux
