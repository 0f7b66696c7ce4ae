#include "tests/support/browser.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace faultmux::test {
namespace {

namespace fs = std::filesystem;
using ms = std::chrono::milliseconds;

// Our children whose command name starts with `prefix`.
std::vector<pid_t> own_children_named(const std::string& prefix) {
  std::vector<pid_t> found;
  for (const auto& d : fs::directory_iterator("/proc")) {
    const std::string name = d.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream st(d.path() / "stat");
    std::string line;
    if (!std::getline(st, line)) continue;
    auto open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string comm = line.substr(open + 1, close - open - 1);
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid = -1;
    rest >> state >> ppid;
    if (ppid == ::getpid() && comm.rfind(prefix, 0) == 0) found.push_back(std::stoi(name));
  }
  return found;
}

}  // namespace

const char* const no_chromium =
    "chromium not found (/usr/bin/chromium; FAULTMUX_CHROMIUM to point elsewhere): "
    "tools/install-deps installs Debian's chromium package";

std::string find_chromium() {
  if (const char* env = std::getenv("FAULTMUX_CHROMIUM"); env && *env) return env;
  for (const char* p :
       {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

// Runs Chromium with args in its own process group, at most `timeout`. This
// process is made a subreaper first, so Chromium's helpers (its crash handler
// starts a session of its own) become our children when they are orphaned:
// whatever is left of them is killed and reaped here, nothing stays behind.
browser_result run_browser(const std::string& exe, const std::vector<std::string>& args,
                           const run_dir& tmp, std::chrono::seconds timeout) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const std::string out_path = tmp.file("browser.out"), err_path = tmp.file("browser.err");
  std::vector<std::string> argv = {exe};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const std::string home = tmp.file("home");
  ::mkdir(home.c_str(), 0700);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0) ::_exit(126);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::setenv("HOME", home.c_str(), 1);
    ::setenv("XDG_CONFIG_HOME", home.c_str(), 1);
    ::setenv("XDG_CACHE_HOME", home.c_str(), 1);
    ::execv(exe.c_str(), cargv.data());
    ::_exit(127);
  }
  browser_result r;
  if (pid < 0) return r;
  ::setpgid(pid, pid);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      r.finished = true;
      r.status = status;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(ms(20));
  }
  // Its renderer and helpers: the group, then any orphan that came to us.
  const auto reap_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < reap_deadline) {
    ::kill(-pid, SIGKILL);
    auto left = own_children_named("chrom");
    for (pid_t p : left) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
    if (left.empty() && ::kill(-pid, 0) != 0) break;
    std::this_thread::sleep_for(ms(50));
  }
  r.out = test::slurp(out_path);
  r.err = test::slurp(err_path);
  return r;
}

std::vector<std::string> browser_args(const run_dir& tmp) {
  return {"--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-dev-shm-usage",
          "--disable-crash-reporter",
          "--disable-extensions",
          "--hide-scrollbars",
          "--user-data-dir=" + tmp.file("profile"),
          "--virtual-time-budget=3000",
          "--enable-logging=stderr",
          "--v=0"};
}

// Console messages and uncaught exceptions Chromium logged for the page.
std::string console_errors(const std::string& err) {
  std::string found;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (line.find("CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos)
      found += line + "\n";
  return found;
}

// The rendered page's DOM, or "" with a failure.
std::string dump_dom(const std::string& chromium, const std::string& page, std::string* console) {
  run_dir tmp;
  auto args = browser_args(tmp);
  args.push_back("--dump-dom");
  args.push_back("file://" + page);
  auto r = run_browser(chromium, args, tmp, std::chrono::seconds(90));
  EXPECT_TRUE(r.finished) << "chromium did not finish in 90 s; killed. stderr:\n" << r.err;
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.err;
  if (console) *console = console_errors(r.err);
  return r.out;
}

void screenshot(const std::string& chromium, const std::string& page, const std::string& png) {
  run_dir tmp;
  fs::create_directories(fs::path(png).parent_path());
  fs::remove(png);
  auto args = browser_args(tmp);
  args.push_back("--window-size=1400,3000");
  args.push_back("--screenshot=" + png);
  args.push_back("file://" + page);
  auto r = run_browser(chromium, args, tmp, std::chrono::seconds(90));
  EXPECT_TRUE(r.finished) << "chromium did not finish in 90 s; killed. stderr:\n" << r.err;
  std::error_code ec;
  auto size = fs::file_size(png, ec);
  ASSERT_FALSE(ec) << png << " was not written: " << r.err;
  // A blank 1400x3000 page compresses to a few KiB; the report is far more.
  EXPECT_GT(size, 50u * 1024) << png;
  std::ifstream in(png, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  EXPECT_EQ(std::string(magic, 8), "\x89PNG\r\n\x1a\n");
  std::printf("screenshot: %s (%ju bytes)\n", png.c_str(), static_cast<std::uintmax_t>(size));
}

// Labels of the page's drawings (every svg with a viewBox: timelines,
// histograms, charts) drawn outside it, as the browser lays them out
// ("label x+width of viewBox-width; ..."), and how many drawings there are:
// a copy of the page with a script that measures them.
chart_layout chart_labels(const std::string& chromium, const std::string& page) {
  const std::string measure =
      "<script>const bad=[];let n=0;"
      "for(const svg of document.querySelectorAll('svg')){const vb=svg.viewBox.baseVal;"
      "if(!vb||vb.width==0)continue;n++;"
      "for(const t of svg.querySelectorAll('text')){const b=t.getBBox();"
      "if(b.x<vb.x-0.5||b.x+b.width>vb.x+vb.width+0.5)"
      "bad.push(t.textContent+' '+b.x.toFixed(1)+'+'+b.width.toFixed(1)+' of '+vb.width);}}"
      "const p=document.createElement('pre');p.id='layout';"
      "p.textContent='CHARTS '+n+' OVERFLOW['+bad.join('; ')+']';"
      "document.body.appendChild(p);</script>";
  std::string html = test::slurp(page);
  auto end = html.rfind("</body>");
  html.insert(end == std::string::npos ? html.size() : end, measure);
  const std::string copy = fs::path(page).replace_filename("measure.html").string();
  std::ofstream(copy) << html;
  std::string dom = dump_dom(chromium, copy, nullptr);
  fs::remove(copy);
  chart_layout out;
  const std::string mark = "<pre id=\"layout\">CHARTS ";  // not the script's own text
  auto at = dom.find(mark);
  auto open = dom.find("OVERFLOW[", at);
  auto close = dom.rfind("]</pre>");
  if (at == std::string::npos || open == std::string::npos || close == std::string::npos)
    return out;
  out.charts = std::stoi(dom.substr(at + mark.size()));
  out.overflowing = dom.substr(open + 9, close - open - 9);
  return out;
}

}  // namespace faultmux::test
