// What is made from the table of scenario keys: the lists the loader checks,
// the docs' key tables and the JSON Schema.
#include "harness/scenario_keys.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>

#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "harness/scenario.hpp"

namespace faultmux {
namespace {

std::string_view parent_of(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string_view leaf_of(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

bool inside(std::string_view path, std::string_view parent) {
  return parent.empty() ||
         (path.size() > parent.size() && path.starts_with(parent) && path[parent.size()] == '.');
}

// Large powers of two as 2^N, as the docs write them.
std::string number(std::int64_t v) {
  if (v >= (1ll << 20) && std::has_single_bit(static_cast<std::uint64_t>(v)))
    return fmt::format("2^{}", std::countr_zero(static_cast<std::uint64_t>(v)));
  return std::to_string(v);
}

std::vector<std::string> choices_of(const scenario_key& k) {
  std::vector<std::string> out;
  if (k.choices.empty()) return out;
  std::string_view rest = k.choices;
  while (true) {
    auto comma = rest.find(',');
    out.emplace_back(rest.substr(0, comma));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

std::string type_cell(const scenario_key& k) {
  std::string out = key_type_name(k.type);
  if (k.required) out += k.type == key_type::tables ? ", at least one" : ", required";
  if (!k.needs.empty()) out += fmt::format(", {}", k.needs);
  return out;
}

std::string default_cell(const scenario_key& k) {
  if (k.default_value.empty()) return std::string(k.default_note);
  if (k.default_note.empty()) return fmt::format("`{}`", k.default_value);
  return fmt::format("`{}` ({})", k.default_value, k.default_note);
}

std::string range_cell(const scenario_key& k) {
  if (!k.choices.empty()) {
    std::vector<std::string> quoted;
    for (const auto& c : choices_of(k)) quoted.push_back(fmt::format("`\"{}\"`", c));
    return fmt::format("{}", fmt::join(quoted, ", "));
  }
  if (!k.has_range()) return "";
  if (k.max == INT64_MAX) return fmt::format(">= {}", number(k.min));
  return fmt::format("{}..{}", number(k.min), number(k.max));
}

nlohmann::json key_schema(const scenario_key& k);

// A TOML value's text ("[{ name = \"good\" }]") as JSON.
nlohmann::json json_of(std::string_view toml_value) {
  std::ostringstream out;
  out << toml::json_formatter{toml::parse(fmt::format("x = {}", toml_value))};
  return nlohmann::json::parse(out.str())["x"];
}

// The object schema of the table at `parent`: its keys, none other.
nlohmann::json table_schema(std::string_view parent) {
  nlohmann::json props = nlohmann::json::object();
  nlohmann::json required = nlohmann::json::array();
  for (const scenario_key* c : scenario_keys_in(parent)) {
    props[std::string(leaf_of(c->path))] = key_schema(*c);
    if (c->required) required.push_back(std::string(leaf_of(c->path)));
  }
  nlohmann::json out = {{"type", "object"}, {"additionalProperties", false}, {"properties", props}};
  if (!required.empty()) out["required"] = required;
  return out;
}

nlohmann::json integer_schema(const scenario_key& k) {
  nlohmann::json out = {{"type", "integer"}};
  if (k.has_range()) {
    out["minimum"] = k.min;
    out["maximum"] = k.max;
  }
  return out;
}

nlohmann::json key_schema(const scenario_key& k) {
  nlohmann::json out;
  switch (k.type) {
    case key_type::string:
      out = {{"type", "string"}};
      if (!k.choices.empty()) out["enum"] = choices_of(k);
      break;
    case key_type::integer:
      out = integer_schema(k);
      break;
    case key_type::number:
      out = integer_schema(k);
      out["type"] = "number";
      break;
    case key_type::boolean:
      out = {{"type", "boolean"}};
      break;
    case key_type::strings:
      out = {{"type", "array"}, {"items", {{"type", "string"}}}};
      break;
    case key_type::integers:
      out = {{"type", "array"}, {"items", integer_schema(k)}, {"minItems", 1}};
      break;
    case key_type::table:
      out = table_schema(k.path);
      break;
    case key_type::tables:
      out = {{"type", "array"}, {"items", table_schema(k.path)}};
      if (k.required) out["minItems"] = 1;
      break;
  }
  out["description"] = std::string(k.meaning);
  if (!k.default_value.empty()) out["default"] = json_of(k.default_value);
  out["examples"] = nlohmann::json::array({json_of(k.example)});
  return out;
}

}  // namespace

const char* key_type_name(key_type t) {
  switch (t) {
    case key_type::string:
      return "string";
    case key_type::integer:
      return "integer";
    case key_type::number:
      return "number";
    case key_type::boolean:
      return "boolean";
    case key_type::strings:
      return "array of strings";
    case key_type::integers:
      return "array of integers";
    case key_type::table:
      return "table";
    case key_type::tables:
      return "array of tables";
  }
  return "?";
}

const scenario_key* find_scenario_key(std::string_view path) {
  for (const scenario_key& k : scenario_key_table())
    if (k.path == path) return &k;
  return nullptr;
}

std::vector<const scenario_key*> scenario_keys_in(std::string_view parent) {
  std::vector<const scenario_key*> out;
  for (const scenario_key& k : scenario_key_table())
    if (parent_of(k.path) == parent) out.push_back(&k);
  return out;
}

std::string scenario_keys_markdown(std::string_view parent) {
  std::string out =
      "| key | type | default | range | example | meaning |\n"
      "|---|---|---|---|---|---|\n";
  for (const scenario_key& k : scenario_key_table()) {
    if (parent.empty() ? !parent_of(k.path).empty() : !inside(k.path, parent)) continue;
    out += fmt::format("| `{}` | {} | {} | {} | `{}` | {} |\n", k.path, type_cell(k),
                       default_cell(k), range_cell(k), k.example, k.meaning);
  }
  return out;
}

std::string scenario_json_schema() {
  nlohmann::json s = table_schema("");
  s["$schema"] = "http://json-schema.org/draft-07/schema#";
  s["title"] = "faultmux scenario";
  s["description"] =
      "A scenario file (TOML) of faultmux: docs/scenarios.md. Conditional needs (a syscall "
      "fault's rule, an echo group's peer) are checked by `faultmux validate`.";
  return s.dump(2) + "\n";
}

std::vector<std::string> scenario_keys() {
  std::vector<std::string> out;
  for (const scenario_key& k : scenario_key_table()) out.emplace_back(k.path);
  return out;
}

}  // namespace faultmux
