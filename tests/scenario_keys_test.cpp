// The table of scenario keys and what is made from it: every entry is
// coherent (its example and default have its type and range), docs/scenarios.md
// holds its tables as generated, docs/scenario.schema.json is current, and
// every built-in scenario validates against that schema.
#include "harness/scenario_keys.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "harness/scenario.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

namespace fs = std::filesystem;
const fs::path source = FAULTMUX_SOURCE_DIR;

// The TOML value `text` ("1", "\"mux\"", "[0, 5]"), parsed as `x = text`.
toml::table value_of(std::string_view text) {
  return toml::parse(fmt::format("x = {}", text));
}

// What is wrong with one value of key `k` (empty when nothing).
std::string check_value(const scenario_key& k, std::string_view text) {
  toml::table t;
  try {
    t = value_of(text);
  } catch (const toml::parse_error& e) {
    return fmt::format("{}: {:?} is not a TOML value: {}", k.path, text, e.description());
  }
  const toml::node& n = *t.get("x");
  auto in_range = [&](const toml::node& i) {
    const auto v = *i.value<std::int64_t>();
    return !k.has_range() || (v >= k.min && v <= k.max);
  };
  switch (k.type) {
    case key_type::string: {
      if (!n.is_string()) return fmt::format("{}: {:?} is not a string", k.path, text);
      const std::string v(*n.value<std::string_view>());
      if (k.choices.empty()) return "";
      const std::string list = "," + std::string(k.choices) + ",";
      return list.find("," + v + ",") == std::string::npos
                 ? fmt::format("{}: {:?} is not one of {}", k.path, v, k.choices)
                 : "";
    }
    case key_type::integer:
      if (!n.is_integer()) return fmt::format("{}: {:?} is not an integer", k.path, text);
      return in_range(n) ? "" : fmt::format("{}: {} is out of range", k.path, text);
    case key_type::number: {
      if (!n.is_number()) return fmt::format("{}: {:?} is not a number", k.path, text);
      const double v = *n.value<double>();
      const bool inside =
          !k.has_range() || (v >= static_cast<double>(k.min) && v <= static_cast<double>(k.max));
      return inside ? "" : fmt::format("{}: {} is out of range", k.path, text);
    }
    case key_type::boolean:
      return n.is_boolean() ? "" : fmt::format("{}: {:?} is not a boolean", k.path, text);
    case key_type::strings:
    case key_type::integers: {
      const toml::array* a = n.as_array();
      if (!a) return fmt::format("{}: {:?} is not an array", k.path, text);
      for (const toml::node& i : *a)
        if (k.type == key_type::strings ? !i.is_string() : !(i.is_integer() && in_range(i)))
          return fmt::format("{}: {:?} holds a wrong item", k.path, text);
      return "";
    }
    case key_type::table:
      return n.is_table() ? "" : fmt::format("{}: {:?} is not a table", k.path, text);
    case key_type::tables:
      return n.is_array() ? "" : fmt::format("{}: {:?} is not an array of tables", k.path, text);
  }
  return "?";
}

std::vector<std::string> table_problems() {
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  for (const scenario_key& k : scenario_key_table()) {
    if (!seen.insert(k.path).second) out.push_back(fmt::format("{}: listed twice", k.path));
    if (k.meaning.empty()) out.push_back(fmt::format("{}: no meaning", k.path));
    if (auto p = check_value(k, k.example); !p.empty()) out.push_back("example: " + p);
    if (!k.default_value.empty())
      if (auto p = check_value(k, k.default_value); !p.empty()) out.push_back("default: " + p);
    if (k.required && !k.default_value.empty())
      out.push_back(fmt::format("{}: required, yet has a default", k.path));
    const auto dot = k.path.rfind('.');
    if (dot != std::string_view::npos) {
      const scenario_key* parent = find_scenario_key(k.path.substr(0, dot));
      if (!parent || (parent->type != key_type::table && parent->type != key_type::tables))
        out.push_back(fmt::format("{}: its parent is not a table", k.path));
    }
  }
  return out;
}

TEST(ScenarioKeys, EveryEntryIsCoherent) {
  ASSERT_GE(scenario_key_table().size(), 90u);
  EXPECT_EQ(table_problems(), std::vector<std::string>{});
}

TEST(ScenarioKeys, ValueCheckFiresOnPlantedMistakes) {
  const scenario_key count{.path = "workers.count",
                           .type = key_type::integer,
                           .min = 1,
                           .max = 10,
                           .example = "1",
                           .meaning = "m"};
  EXPECT_EQ(check_value(count, "5"), "");
  EXPECT_NE(check_value(count, "11"), "");
  EXPECT_NE(check_value(count, "\"5\""), "");
  const scenario_key in{.path = "faults.in",
                        .type = key_type::string,
                        .choices = "mux,workers",
                        .example = "\"mux\"",
                        .meaning = "m"};
  EXPECT_EQ(check_value(in, "\"workers\""), "");
  EXPECT_NE(check_value(in, "\"contexts\""), "");
}

TEST(ScenarioKeys, TheLoaderAcceptsEveryKeyOfTheTableAndNoOther) {
  // Each example, written at its place, loads (or fails for a reason other
  // than an unknown key); a key not in the table is refused.
  const std::string head =
      "name = \"k\"\ndescription = \"d\"\norigin = \"o\"\n[[workers]]\nname = \"w\"\n";
  for (const scenario_key* k : scenario_keys_in("workers")) {
    if (k->path == "workers.name") continue;
    std::string text = head + fmt::format("{} = {}\n", k->path.substr(8), k->example);
    try {
      parse_scenario(text, "k.toml");
    } catch (const scenario_error& e) {
      EXPECT_EQ(std::string(e.what()).find("unknown key"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_scenario(head + "colour = 1\n", "k.toml"), scenario_error);
}

TEST(ScenarioKeys, DocsHoldTheGeneratedTables) {
  std::ifstream in(source / "docs/scenarios.md");
  std::stringstream docs;
  docs << in.rdbuf();
  for (const char* section : {"", "target", "workers", "faults", "expect"}) {
    const std::string table = scenario_keys_markdown(section);
    EXPECT_NE(docs.str().find(table), std::string::npos)
        << "docs/scenarios.md lacks the table of [" << section
        << "] as `faultmux validate --reference` prints it:\n"
        << table;
  }
}

TEST(ScenarioKeys, SchemaFileIsCurrent) {
  std::ifstream in(source / "docs/scenario.schema.json");
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(file.str(), scenario_json_schema())
      << "regenerate it: ./faultmux validate --schema > docs/scenario.schema.json";
}

// python3 with jsonschema validates every file given against the schema;
// prints one line per file that does not validate.
const char* validate_py = R"(import json, sys, tomllib
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
bad = 0
for f in sys.argv[2:]:
    for e in v.iter_errors(tomllib.load(open(f, 'rb'))):
        bad += 1
        print(f, list(e.absolute_path), e.message)
sys.exit(1 if bad else 0)
)";

std::pair<int, std::string> run_python(const std::vector<std::string>& files) {
  test::run_dir dir;
  std::ofstream(dir.file("v.py")) << validate_py;
  std::string cmd = "/usr/bin/python3 " + dir.file("v.py") + " " +
                    (source / "docs/scenario.schema.json").string();
  for (const auto& f : files) cmd += " '" + f + "'";
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  const int st = p ? pclose(p) : -1;
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

bool have_jsonschema() {
  return std::system("/usr/bin/python3 -c 'import jsonschema, tomllib' 2>/dev/null") == 0;
}

TEST(ScenarioSchema, EveryBuiltInScenarioValidates) {
  ASSERT_TRUE(have_jsonschema()) << "python3-jsonschema is missing: run tools/install-deps";
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(source / "scenarios"))
    if (e.path().extension() == ".toml") files.push_back(e.path().string());
  ASSERT_GT(files.size(), 30u);
  auto [status, out] = run_python(files);
  EXPECT_EQ(status, 0) << out;
}

TEST(ScenarioSchema, RefusesAPlantedMistake) {
  ASSERT_TRUE(have_jsonschema()) << "python3-jsonschema is missing: run tools/install-deps";
  test::run_dir dir;
  std::ofstream(dir.file("bad.toml"))
      << "name = \"bad\"\ndescription = \"d\"\norigin = \"o\"\n[[workers]]\nname = \"w\"\n"
         "count = 0\nworkload = \"dance\"\n[[faults]]\nkind = \"syscall\"\ncolour = 1\n";
  auto [status, out] = run_python({dir.file("bad.toml")});
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("'workers', 0, 'count'"), std::string::npos) << out;
  EXPECT_NE(out.find("'dance' is not one of"), std::string::npos) << out;
  EXPECT_NE(out.find("'colour' was unexpected"), std::string::npos) << out;
}

}  // namespace
}  // namespace faultmux
