// The event catalog (wire/event_names.hpp) against the source tree: every
// event name emitted anywhere (a literal or a wire::ev constant) is in the
// catalog, every catalog row is emitted somewhere, and docs/events.md is
// the catalog rendered. On a docs mismatch the expected file is printed;
// FAULTMUX_UPDATE_DOCS=1 writes it.
#include "wire/event_names.hpp"
#include "tests/support/run_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace faultmux::wire {
namespace {

namespace fs = std::filesystem;

const fs::path source_dir = FAULTMUX_SOURCE_DIR;

// name -> the files that emit it.
using emit_sites = std::map<std::string, std::set<std::string>>;

// The event names `text` emits: emit("x", emit(wire::ev::x, the shim's
// field("event", ...) and a JSON object's {"event", "x"} pair.
void scan_emits(const std::string& text, const std::string& file, emit_sites& out) {
  static const std::regex patterns[] = {
      std::regex(R"re(emit\(\s*"([a-z_]+)")re"),
      std::regex(R"re(emit\(\s*(?:wire::)?ev::([a-z_]+))re"),
      std::regex(R"re(\{\s*"event",\s*"([a-z_]+)"\s*\})re"),
      std::regex(R"re(field\(\s*"event",\s*"([a-z_]+)")re"),
      std::regex(R"re(field\(\s*"event",\s*(?:wire::)?ev::([a-z_]+))re"),
  };
  for (const auto& re : patterns) {
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it)
      out[(*it)[1].str()].insert(file);
  }
}

emit_sites scan_tree(const fs::path& root) {
  emit_sites out;
  for (const char* dir : {"mux", "faults", "roles", "harness", "wire"}) {
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      auto ext = e.path().extension();
      if (ext != ".cpp" && ext != ".hpp") continue;
      if (e.path().filename() == "event_names.hpp") continue;
      scan_emits(test::slurp(e.path()), fs::relative(e.path(), root).string(), out);
    }
  }
  return out;
}

bool in_catalog(std::string_view name) {
  return std::any_of(std::begin(event_catalog), std::end(event_catalog),
                     [&](const event_kind& k) { return k.name == name; });
}

std::string escape_cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

// docs/events.md, rendered from the catalog.
std::string render_markdown() {
  std::string md =
      "# Events reference\n"
      "\n"
      "<!-- Generated from wire/event_names.hpp by tests/event_names_test.cpp\n"
      "     (FAULTMUX_UPDATE_DOCS=1 rewrites it): edit the table there. -->\n"
      "\n"
      "Every faultmux process appends JSON lines to an events file in the run\n"
      "directory (the shim to `faults.log`); the driver merges them into one\n"
      "timeline sorted by time. Each line starts with the same four fields:\n"
      "\n"
      "- `t`: seconds on CLOCK_MONOTONIC (one clock for every process of the machine)\n"
      "- `pid`: the writing process\n"
      "- `role`: mux, worker, context, driver, fault...\n"
      "- `event`: one of the names below\n"
      "\n"
      "then the event's own fields. Strings are UTF-8 (bytes that are not become\n"
      "U+FFFD). A shim line that did not fit its buffer ends with\n"
      "`\"truncated\":true`. Readers skip a last line without its newline.\n"
      "\n"
      "| event | written by | fields | meaning |\n"
      "|---|---|---|---|\n";
  for (const event_kind& k : event_catalog) {
    md += "| `" + std::string(k.name) + "` | " + escape_cell(k.writers) + " | " +
          escape_cell(k.fields) + " | " + escape_cell(k.meaning) + " |\n";
  }
  return md;
}

TEST(EventNames, EveryEmittedNameIsInTheCatalog) {
  emit_sites sites = scan_tree(source_dir);
  ASSERT_GT(sites.size(), 20u) << "the scan found almost nothing: is " << source_dir
                               << " the source tree?";
  for (const auto& [name, files] : sites) {
    std::string where;
    for (const auto& f : files) where += " " + f;
    EXPECT_TRUE(in_catalog(name)) << "event \"" << name << "\" (emitted in" << where
                                  << ") is not in wire/event_names.hpp";
  }
}

TEST(EventNames, EveryCatalogNameIsEmitted) {
  emit_sites sites = scan_tree(source_dir);
  for (const event_kind& k : event_catalog)
    EXPECT_TRUE(sites.count(std::string(k.name)))
        << "event \"" << k.name << "\" is in wire/event_names.hpp but nothing emits it";
}

TEST(EventNames, EveryConstantIsACatalogRowOfItsOwnName) {
  std::string text = test::slurp(source_dir / "wire/event_names.hpp");
  std::regex def(R"re(inline constexpr event_kind ([a-z_]+)\{\s*"([a-z_]+)")re");
  int n = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), def), end; it != end; ++it, ++n) {
    EXPECT_EQ((*it)[1].str(), (*it)[2].str()) << "a constant named unlike its event";
    EXPECT_TRUE(in_catalog((*it)[2].str())) << (*it)[2] << " is missing from event_catalog";
  }
  EXPECT_EQ(n, static_cast<int>(std::size(event_catalog)));
}

TEST(EventNames, ScanFindsEveryEmitForm) {
  emit_sites s;
  scan_emits(
      "events::emit(\"a\", {});\nlog_.emit(\n    \"b\");\nevents::emit(wire::ev::c);\n"
      "l.field(\"event\", wire::ev::d);\nj = {{\"event\", \"e\"}};\nemit(ev::f);\n"
      "l.field(\"event\", \"g\");\nkeys({\"pattern\", \"event\", \"level\"});\n",
      "x.cpp", s);
  std::set<std::string> names;
  for (const auto& [name, files] : s) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"a", "b", "c", "d", "e", "f", "g"}));
}

TEST(EventNames, DocsAreTheCatalogRendered) {
  const fs::path doc = source_dir / "docs/events.md";
  std::string want = render_markdown();
  if (const char* u = std::getenv("FAULTMUX_UPDATE_DOCS"); u && std::string(u) == "1") {
    fs::create_directories(doc.parent_path());
    std::ofstream(doc, std::ios::binary) << want;
  }
  EXPECT_EQ(test::slurp(doc), want)
      << "docs/events.md does not match wire/event_names.hpp; run this test with "
         "FAULTMUX_UPDATE_DOCS=1, or replace the file with:\n"
      << want;
}

}  // namespace
}  // namespace faultmux::wire
