// `faultmux new NAME [--like SCENARIO]`: a scenario file to start from, a
// template with every key and its default (from the loader's table of keys),
// or a copy of a scenario under the new name.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "harness/cli/commands.hpp"
#include "harness/install_paths.hpp"
#include "harness/scenario.hpp"
#include "harness/scenario_keys.hpp"

namespace faultmux::cli {
namespace {

namespace fs = std::filesystem;

struct new_command_options {
  std::string name;
  std::string like;  // a scenario file, or the name of a built-in one
  std::string out;   // default: scenarios/NAME.toml
};

std::string leaf(std::string_view path) {
  return std::string(path.substr(path.rfind('.') + 1));
}

// "# count = 1  # workers in the group (1..10000)": a key, commented out.
std::string key_line(const scenario_key& k, std::string_view indent = "") {
  std::string value(k.default_value.empty() ? k.example : k.default_value);
  std::string note;
  if (k.default_value.empty())
    note = k.default_note.empty() ? "no default; e.g."
                                  : fmt::format("default {}; e.g.", k.default_note);
  if (k.required) note = "required; e.g.";
  if (!k.needs.empty()) note = fmt::format("{}; e.g.", k.needs);
  std::string range;
  if (!k.choices.empty()) range = fmt::format(" [{}]", k.choices);
  if (k.has_range()) range = fmt::format(" [{}..{}]", k.min, k.max);
  return fmt::format("{}# {} = {}  # {}{}{}\n", indent, leaf(k.path), value,
                     note.empty() ? "" : note + " ", k.meaning, range);
}

// The commented keys of the table at `parent`, and its array-of-tables
// children as commented [[blocks]] after them.
std::string table_block(std::string_view parent, std::string_view header, bool live_header) {
  std::string out = fmt::format("{}{}\n", live_header ? "" : "# ", header);
  std::string children;
  for (const scenario_key* k : scenario_keys_in(parent)) {
    if (k->type == key_type::tables) {
      children += fmt::format("\n# {}\n", k->meaning);
      children += table_block(k->path, fmt::format("[[{}]]", k->path), false);
    } else {
      out += key_line(*k);
    }
  }
  return out + children;
}

std::string template_text(const std::string& name) {
  std::string out = fmt::format(
      "# {}: a faultmux scenario (docs/scenarios.md). Every key is here with its\n"
      "# default, commented out: uncomment what you need. Check the file with\n"
      "# `faultmux validate FILE`, run it with `faultmux run FILE`.\n",
      name);
  out += fmt::format("name = \"{}\"\n", name);
  out += "description = \"what happens, and what must survive it\"\n";
  out += "origin = \"docs/field-failures.md FNN; the Mitogen issue or commit, the symptom\"\n";
  for (const scenario_key* k : scenario_keys_in(""))
    if (k->type != key_type::table && k->type != key_type::tables && !k->required)
      out += key_line(*k);
  out += "\n" + table_block("target", "[target]", false);
  out += "\n# A group of alike workers (Ansible's forks); a scenario needs at least one.\n";
  out += "[[workers]]\nname = \"good\"\n";
  for (const scenario_key* k : scenario_keys_in("workers"))
    if (!k->required) out += key_line(*k);
  out += "\n" + table_block("faults", "[[faults]]", false);
  out += "\n" + table_block("expect", "[expect]", false);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `like` as a file, else a built-in scenario of that name.
std::string like_file(const std::string& like) {
  std::error_code ec;
  if (fs::exists(like, ec)) return like;
  return (fs::path(own_install_paths().data_dir) / "scenarios" / (like + ".toml")).string();
}

// The scenario's text with its name line saying `name` (comments and order kept).
std::string renamed(const std::string& text, const scenario& s, const std::string& name) {
  std::istringstream in(text);
  std::string out, line;
  bool done = false;
  while (std::getline(in, line)) {
    if (!done && line.rfind("name", 0) == 0 &&
        line.find(fmt::format("\"{}\"", s.name)) != std::string::npos) {
      line = fmt::format("name = \"{}\"", name);
      done = true;
    }
    out += line + "\n";
  }
  if (!done)
    throw scenario_error(fmt::format("{}: no line `name = \"{}\"` to rename", s.file, s.name));
  return out;
}

int run_new(const new_command_options& o) {
  if (o.name.empty() ||
      o.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    std::fprintf(stderr,
                 "faultmux new: NAME must be lowercase letters, digits and '-', got \"%s\"\n",
                 o.name.c_str());
    return 2;
  }
  const std::string out = o.out.empty() ? "scenarios/" + o.name + ".toml" : o.out;
  std::error_code ec;
  if (fs::exists(out, ec)) {
    std::fprintf(stderr, "faultmux new: %s already exists; not overwriting it (give --out)\n",
                 out.c_str());
    return 2;
  }
  std::string text = template_text(o.name);
  if (!o.like.empty()) {
    const std::string from = like_file(o.like);
    try {
      text = renamed(slurp(from), load_scenario(from), o.name);
    } catch (const scenario_error& e) {
      std::fprintf(stderr, "faultmux new: --like %s: %s\n", o.like.c_str(), e.what());
      return 2;
    }
  }
  if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path(), ec);
  std::ofstream f(out, std::ios::binary);
  if (!(f << text) || !f.flush()) {
    std::fprintf(stderr, "faultmux new: cannot write %s: %s\n", out.c_str(), std::strerror(errno));
    return 2;
  }
  std::printf("wrote %s; check it with: faultmux validate %s\n", out.c_str(), out.c_str());
  return 0;
}

}  // namespace

void add_new_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<new_command_options>();
  auto* sub = app.add_subcommand(
      "new", "write a scenario file to start from: every key with its default, commented");
  sub->add_option("NAME", o->name, "the scenario's name (lowercase letters, digits, '-')")
      ->required();
  sub->add_option("--like", o->like,
                  "copy this scenario (a file, or a built-in scenario's name) under NAME instead");
  sub->add_option("--out", o->out, "write here instead of scenarios/NAME.toml");
  on_chosen(sub, chosen, [o](const invocation&) { return run_new(*o); });
}

}  // namespace faultmux::cli
