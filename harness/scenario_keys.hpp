// The one table of every key a scenario file may hold: the strict loader's
// key and range checks, docs/scenarios.md's key tables, the JSON Schema for
// editors and `faultmux new`'s template are all made from it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace faultmux {

enum class key_type { string, integer, number, boolean, strings, integers, table, tables };

// One key, by its dotted path ("seed", "target.kind", "expect.errors.min").
struct scenario_key {
  std::string_view path{};
  key_type type = key_type::string;
  // Always required in its table (a conditional need is in `needs`); a
  // required array of tables needs at least one.
  bool required = false;
  // Default as TOML text ("1", "\"mux\"", "[]"); "" when there is none to write.
  std::string_view default_value{};
  // The default in words when it is not a value ("no bound", "the connect timeout").
  std::string_view default_note{};
  std::int64_t min = 1;  // integer, number (and each integer of integers): min..max;
  std::int64_t max = 0;  // min > max: any
  // string: the allowed values, comma-separated ("builtin,external"); "" any.
  std::string_view choices{};
  std::string_view needs{};    // "required for syscall": a need that depends on other keys
  std::string_view example{};  // a TOML value
  std::string_view meaning{};  // one line

  bool has_range() const { return min <= max; }
};

// Every key, parents before their children, in the order of the docs.
std::span<const scenario_key> scenario_key_table();

// The key at `path`, or nullptr.
const scenario_key* find_scenario_key(std::string_view path);

// The keys directly inside the table at `parent` ("" the top level, "target",
// "expect.errors"): the names the loader accepts there.
std::vector<const scenario_key*> scenario_keys_in(std::string_view parent);

// docs/scenarios.md's key table of the section at `parent` (its header, its
// separator and a row per key of it and of its inline tables).
std::string scenario_keys_markdown(std::string_view parent);

// The JSON Schema (draft-07, which editors read) of a scenario file converted to JSON.
std::string scenario_json_schema();

// "integer", "array of strings", ...: the type column's words.
const char* key_type_name(key_type t);

}  // namespace faultmux
