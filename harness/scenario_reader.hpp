// The scenario loader's reading of TOML tables (harness/scenario_load.cpp
// only): typed reads checked against the table of keys, and every error
// collected, as a compiler does, instead of stopping at the first.
#pragma once

#include <algorithm>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "harness/scenario.hpp"
#include "harness/scenario_keys.hpp"

namespace faultmux::scenario_reading {

class reader {
 public:
  explicit reader(std::string path) : path_(std::move(path)) {}

  // Records "FILE:LINE:COLUMN: what" and reads on. One error per place: a
  // second at the same place follows from the first.
  void note(const toml::source_region& at, const std::string& what) {
    const auto place = std::make_pair(at.begin.line, at.begin.column);
    for (const auto& e : errors_)
      if (e.place == place) return;
    errors_.push_back({place, fmt::format("{}:{}:{}: {}", path_, place.first, place.second, what)});
  }
  void note(const toml::node& n, const std::string& what) { note(n.source(), what); }

  // The errors in file order, each "FILE:LINE:COLUMN: what".
  std::vector<std::string> errors() const {
    auto sorted = errors_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.place < b.place; });
    std::vector<std::string> out;
    for (const auto& e : sorted) out.push_back(e.line);
    return out;
  }

  // "[[workers]]" for "workers": how messages name the table at `section`.
  static std::string where(std::string_view section) {
    if (section.empty()) return "the scenario";
    if (section == "target" || section == "expect") return fmt::format("[{}]", section);
    if (section == "expect.errors") return "an [expect] errors entry";
    if (section == "expect.calls") return "an [expect] calls entry";
    return fmt::format("[[{}]]", section);
  }

  // Every key of t must be a key of the table at `section`.
  void only_keys(const toml::table& t, std::string_view section) {
    const auto allowed = scenario_keys_in(section);
    for (const auto& [key, node] : t) {
      if (std::any_of(allowed.begin(), allowed.end(), [&](const scenario_key* k) {
            return k->path.substr(k->path.rfind('.') + 1) == key.str();
          }))
        continue;
      std::vector<std::string_view> names;
      for (const scenario_key* k : allowed) names.push_back(k->path.substr(k->path.rfind('.') + 1));
      note(key.source(), fmt::format("unknown key '{}' in {} (expected one of: {})", key.str(),
                                     where(section), fmt::join(names, ", ")));
    }
  }

  // The node of `key`, or the table itself when it has none: where an error goes.
  const toml::node& at(const toml::table& t, std::string_view key) const {
    const toml::node* n = t.get(key);
    return n ? *n : t;
  }

  std::string text(const toml::table& t, std::string_view section, std::string_view key,
                   bool required, std::string fallback = {}) {
    const toml::node* n = t.get(key);
    if (!n) {
      if (required) note(t, fmt::format("{} needs '{}' (a string)", where(section), key));
      return fallback;
    }
    if (!n->is_string()) {
      note(*n,
           fmt::format("'{}' in {} must be a string, not {}", key, where(section), type_of(*n)));
      return fallback;
    }
    return std::string(*n->value<std::string_view>());
  }

  // An integer in the range the table of keys gives `section.key`.
  std::int64_t integer(const toml::table& t, std::string_view section, std::string_view key,
                       std::int64_t fallback) {
    return ranged<std::int64_t>(t, section, key, fallback);
  }

  // A number (an integer or a float) in the range the table of keys gives `section.key`.
  double number(const toml::table& t, std::string_view section, std::string_view key,
                double fallback) {
    return ranged<double>(t, section, key, fallback);
  }

  bool boolean(const toml::table& t, std::string_view section, std::string_view key,
               bool fallback) {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_boolean()) {
      note(*n, fmt::format("'{}' in {} must be true or false, not {}", key, where(section),
                           type_of(*n)));
      return fallback;
    }
    return *n->value<bool>();
  }

  std::vector<std::string> strings(const toml::table& t, std::string_view section,
                                   std::string_view key) {
    std::vector<std::string> out;
    const toml::node* n = t.get(key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a) {
      note(*n, fmt::format("'{}' in {} must be an array of strings, not {}", key, where(section),
                           type_of(*n)));
      return out;
    }
    for (const toml::node& e : *a) {
      if (!e.is_string()) {
        note(e, fmt::format("'{}' in {} must hold strings only, not {}", key, where(section),
                            type_of(e)));
        continue;
      }
      out.emplace_back(*e.value<std::string_view>());
    }
    return out;
  }

  // An array of tables ([[key]]), or an empty list.
  std::vector<const toml::table*> tables(const toml::table& t, std::string_view key) {
    std::vector<const toml::table*> out;
    const toml::node* n = t.get(key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a) {
      note(*n,
           fmt::format("'{}' must be an array of tables ([[{}]]), not {}", key, key, type_of(*n)));
      return out;
    }
    for (const toml::node& e : *a) {
      if (!e.is_table()) {
        note(e, fmt::format("each entry of '{}' must be a table, not {}", key, type_of(e)));
        continue;
      }
      out.push_back(e.as_table());
    }
    return out;
  }

  const toml::table* table(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      note(*n, fmt::format("'{}' must be a table ([{}]), not {}", key, key, type_of(*n)));
      return nullptr;
    }
    return n->as_table();
  }

  // Notes a regex that does not compile; true when it does.
  bool check_regex(const toml::node& n, const std::string& re, std::string_view what) {
    try {
      std::regex check(re);
      return true;
    } catch (const std::regex_error& e) {
      note(n, fmt::format("{} {:?} is not a valid regular expression: {}", what, re, e.what()));
      return false;
    }
  }

  static const char* type_of(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::string:
        return "a string";
      case toml::node_type::integer:
        return "an integer";
      case toml::node_type::floating_point:
        return "a float";
      case toml::node_type::boolean:
        return "a boolean";
      case toml::node_type::array:
        return "an array";
      case toml::node_type::table:
        return "a table";
      default:
        return "a date or time";
    }
  }

 private:
  // integer() and number(): T is std::int64_t or double.
  template <class T>
  T ranged(const toml::table& t, std::string_view section, std::string_view key, T fallback) {
    constexpr bool whole = std::is_integral_v<T>;
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (whole ? !n->is_integer() : !n->is_number()) {
      note(*n, fmt::format("'{}' in {} must be {}, not {}", key, where(section),
                           whole ? "an integer" : "a number", type_of(*n)));
      return fallback;
    }
    const T v = *n->value<T>();
    const scenario_key* k = find_scenario_key(dotted(section, key));
    if (k && k->has_range() && !(v >= static_cast<T>(k->min) && v <= static_cast<T>(k->max))) {
      note(*n, fmt::format("'{}' in {} must be {}..{}, got {}", key, where(section), k->min, k->max,
                           v));
      return fallback;
    }
    return v;
  }

  static std::string dotted(std::string_view section, std::string_view key) {
    return section.empty() ? std::string(key) : fmt::format("{}.{}", section, key);
  }

  struct error_line {
    std::pair<std::uint32_t, std::uint32_t> place;
    std::string line;
  };
  std::string path_;
  std::vector<error_line> errors_;
};

}  // namespace faultmux::scenario_reading
