// How the built-ins bind a call's arguments: by position, then by keyword,
// with Python's errors for an unknown or a repeated keyword.
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "roles/builtin_args.hpp"

namespace faultmux {
namespace {

pickle::kwargs kw(std::initializer_list<std::pair<std::string, pickle::value>> items) {
  pickle::kwargs k;
  for (const auto& [name, v] : items) k.items.emplace_back(pickle::text{name}, v);
  return k;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(BuiltinArgs, BindsByPositionAndByKeyword) {
  // The binding refers to the call's arguments: they outlive it.
  const pickle::tuple seven{{std::int64_t{7}}}, twenty{{std::int64_t{20}}};
  builtin_args by_pos("echo", {"value"}, seven, {});
  EXPECT_EQ(by_pos.at(0), pickle::value(std::int64_t{7}));
  const pickle::kwargs v = kw({{"value", pickle::text{"v"}}});
  builtin_args by_name("echo", {"value"}, {}, v);
  EXPECT_EQ(by_name.at(0), pickle::value("v"));
  // Two parameters: the first by position, the second by name.
  const pickle::kwargs m = kw({{"message", pickle::text{"m"}}});
  builtin_args mixed("log", {"levelno", "message"}, twenty, m);
  EXPECT_EQ(mixed.integer(0), 20);
  EXPECT_EQ(mixed.at(1), pickle::value("m"));
  // Keywords in any order.
  const pickle::kwargs both = kw({{"message", pickle::text{"m"}}, {"levelno", std::int64_t{30}}});
  builtin_args reversed("log", {"levelno", "message"}, {}, both);
  EXPECT_EQ(reversed.integer(0), 30);
  EXPECT_EQ(reversed.at(1), pickle::value("m"));
  const pickle::kwargs abc = kw({{"data", pickle::bytes{"abc"}}});
  builtin_args data("checksum", {"data"}, {}, abc);
  EXPECT_EQ(data.bytes(0), "abc");
}

TEST(BuiltinArgs, AnUnknownKeywordIsNamed) {
  EXPECT_EQ(error_of([] {
              builtin_args("echo", {"value"}, {}, kw({{"x", std::int64_t{1}}}));
            }),
            "echo() got an unexpected keyword argument 'x'");
  // A function without parameters takes no keyword either.
  EXPECT_EQ(error_of([] {
              builtin_args("getpid", {}, {}, kw({{"n", std::int64_t{1}}}));
            }),
            "getpid() got an unexpected keyword argument 'n'");
}

TEST(BuiltinArgs, AKeywordRepeatingAPositionalIsNamed) {
  EXPECT_EQ(error_of([] {
              builtin_args("echo", {"value"}, pickle::tuple{{std::int64_t{1}}},
                           kw({{"value", std::int64_t{2}}}));
            }),
            "echo() got multiple values for argument 'value'");
  EXPECT_EQ(error_of([] {
              builtin_args("log", {"levelno", "message"}, pickle::tuple{{std::int64_t{1}}},
                           kw({{"levelno", std::int64_t{2}}}));
            }),
            "log() got multiple values for argument 'levelno'");
}

TEST(BuiltinArgs, MissingAndMistypedArgumentsAreNamed) {
  const pickle::tuple no_args;
  const pickle::kwargs no_kwargs, five_text = kw({{"ms", pickle::text{"5"}}});
  const pickle::tuple five{{std::int64_t{5}}};
  builtin_args none("sleep", {"ms"}, no_args, no_kwargs);
  EXPECT_FALSE(none.has(0));
  EXPECT_EQ(error_of([&] { none.at(0); }), "sleep() missing required argument: 'ms'");
  builtin_args text("sleep", {"ms"}, no_args, five_text);
  EXPECT_EQ(error_of([&] { text.integer(0); }), "sleep(): argument 'ms' must be an int");
  builtin_args num("checksum", {"data"}, five, no_kwargs);
  EXPECT_NE(error_of([&] { num.bytes(0); }).find("checksum(): argument 'data' must be bytes"),
            std::string::npos);
}

}  // namespace
}  // namespace faultmux
