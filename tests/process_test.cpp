// spawn_all: every request started, several at once, the children in
// request order with their own stdout; a request that cannot start is
// thrown once the others are tried, and those started are reaped.
#include "roles/process.hpp"

#include <sys/wait.h>

#include <chrono>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

namespace faultmux {
namespace {

using ms = std::chrono::milliseconds;

std::vector<spawn_request> echoes(int n) {
  std::vector<spawn_request> out;
  for (int i = 0; i < n; ++i)
    out.push_back(
        {{"/bin/sh", "-c", "echo \"$WHO\""}, true, "", {"WHO=child" + std::to_string(i)}});
  return out;
}

TEST(SpawnAll, StartsEveryRequestInOrderSeveralAtOnce) {
  for (int parallel : {1, 3, 64}) {
    std::vector<child_process> cs = spawn_all(echoes(10), parallel);
    ASSERT_EQ(cs.size(), 10u);
    for (int i = 0; i < 10; ++i) {
      auto line = cs[static_cast<std::size_t>(i)].read_line(ms(10000));
      ASSERT_TRUE(line) << "child " << i << " at parallel " << parallel;
      EXPECT_EQ(*line, "child" + std::to_string(i));
      auto st = cs[static_cast<std::size_t>(i)].wait(ms(10000));
      ASSERT_TRUE(st);
      EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
    }
  }
  EXPECT_TRUE(spawn_all({}, 4).empty());
}

TEST(SpawnAll, ThrowsWhenOneCannotStart) {
  auto rs = echoes(4);
  rs[2].argv = {"/nonexistent/faultmux-no-such-program"};
  try {
    spawn_all(rs, 2);
    FAIL() << "a missing program must throw";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot start /nonexistent/faultmux-no-such-program"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace faultmux
