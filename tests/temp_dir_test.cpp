// Where tests, benchmarks and the smoke run write: under $TMPDIR as the
// driver does, /tmp when it is unset or empty.
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "roles/roles.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

// Sets TMPDIR (unsets it for nullopt) and puts the old value back at the end.
class scoped_tmpdir {
 public:
  explicit scoped_tmpdir(const std::optional<std::string>& value) {
    if (const char* old = ::getenv("TMPDIR")) old_ = old;
    if (value)
      ::setenv("TMPDIR", value->c_str(), 1);
    else
      ::unsetenv("TMPDIR");
  }
  ~scoped_tmpdir() {
    if (old_)
      ::setenv("TMPDIR", old_->c_str(), 1);
    else
      ::unsetenv("TMPDIR");
  }
  scoped_tmpdir(const scoped_tmpdir&) = delete;
  scoped_tmpdir& operator=(const scoped_tmpdir&) = delete;

 private:
  std::optional<std::string> old_;
};

TEST(TempDir, RunDirIsUnderTmpdir) {
  test::run_dir outer;
  scoped_tmpdir env(outer.path());
  EXPECT_EQ(test::temp_root(), outer.path());
  test::run_dir inner("faultmux-x");
  EXPECT_EQ(std::filesystem::path(inner.path()).parent_path().string(), outer.path());
  EXPECT_EQ(std::filesystem::path(inner.path()).filename().string().rfind("faultmux-x-", 0), 0u)
      << inner.path();
  EXPECT_TRUE(std::filesystem::is_directory(inner.path()));
}

TEST(TempDir, RunDirDefaultsToTmp) {
  for (const std::optional<std::string>& value : {std::optional<std::string>(), {std::string()}}) {
    scoped_tmpdir env(value);
    EXPECT_EQ(test::temp_root(), "/tmp");
    test::run_dir d;
    EXPECT_EQ(d.path().rfind("/tmp/faultmux-test-", 0), 0u) << d.path();
  }
}

TEST(TempDir, RunDirNamesThePathWhenItCannotBeMade) {
  test::run_dir outer;
  scoped_tmpdir env(outer.file("missing"));
  try {
    test::run_dir d;
    ADD_FAILURE() << "made " << d.path();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(outer.file("missing") + "/faultmux-test-"),
              std::string::npos)
        << e.what();
  }
}

// The smoke run makes its directory first: with TMPDIR pointing at a
// directory that does not exist it stops there, naming the path it tried.
TEST(TempDir, SmokeRunIsUnderTmpdir) {
  test::run_dir outer;
  scoped_tmpdir env(outer.file("missing"));
  testing::internal::CaptureStderr();
  const int rc = run_smoke(test::binary(), 0);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 2) << err;
  EXPECT_NE(err.find(outer.file("missing") + "/faultmux-suite-"), std::string::npos) << err;
}

}  // namespace
}  // namespace faultmux
