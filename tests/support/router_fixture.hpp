// The fixture of the router tests: the router of one context, driven with
// fake peers that record what is sent to them.
//
// Topology of most tests: this context is 10; its parent is 1, whose parent
// is the root 0; children 11 (a), 12 (b) and 13 (c) are connected directly;
// 21 sits behind 11 once a announces it; 5 is a context beyond the parent.
#pragma once

#include "mux/router.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "tests/support/messages.hpp"

namespace faultmux::test {

constexpr std::uint32_t root_id = 0;
constexpr std::uint32_t parent_id = 1;
constexpr std::uint32_t sibling_id = 5;  // beyond the parent
constexpr std::uint32_t me = 10;
constexpr std::uint32_t a_id = 11;
constexpr std::uint32_t b_id = 12;
constexpr std::uint32_t c_id = 13;
constexpr std::uint32_t grandchild_id = 21;  // behind a
constexpr std::uint32_t client_id = 30;      // a unix client, when a test adds one

struct fake_peer final : peer {
  explicit fake_peer(std::string n) : name_(std::move(n)) {}
  const std::string& name() const override { return name_; }
  void send(message m) override { sent.push_back(std::move(m)); }

  std::vector<message> with_handle(std::uint32_t h) const {
    std::vector<message> r;
    for (const message& m : sent)
      if (m.handle == h) r.push_back(m);
    return r;
  }
  std::vector<message> dead() const {
    std::vector<message> r;
    for (const message& m : sent)
      if (m.is_dead()) r.push_back(m);
    return r;
  }
  // Bodies of the DEL_ROUTE messages sent here, sorted.
  std::vector<std::string> del_routes() const {
    std::vector<std::string> r;
    for (const message& m : with_handle(handle::del_route)) r.push_back(m.data);
    std::sort(r.begin(), r.end());
    return r;
  }

  std::string name_;
  std::vector<message> sent;
};

// Collects log lines, so tests can check that a drop was reported.
class capture_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}
};

inline message make(std::uint32_t src, std::uint32_t dst, std::uint32_t h,
                    std::uint32_t reply_to = 0, std::string data = {}) {
  return make_message(dst, src, src, h, reply_to, std::move(data));
}

inline message make_dead(std::uint32_t src, std::uint32_t dst, std::uint32_t h,
                         std::string reason) {
  message m = make(src, dst, h, handle::is_dead, std::move(reason));
  return m;
}

// A dead message this context produced: from us, with our authority.
inline void expect_dead(const message& m, std::uint32_t dst, std::uint32_t h,
                        const std::string& reason, std::uint32_t from = me) {
  EXPECT_TRUE(m.is_dead());
  EXPECT_EQ(m.reply_to, 999u);
  EXPECT_EQ(m.dst_id, dst);
  EXPECT_EQ(m.handle, h);
  EXPECT_EQ(m.data, reason);
  EXPECT_EQ(m.src_id, from);
  EXPECT_EQ(m.auth_id, from);
}

class RouterTest : public testing::Test {
 protected:
  void SetUp() override {
    previous_logger_ = spdlog::default_logger();
    sink_ = std::make_shared<capture_sink>();
    auto logger = std::make_shared<spdlog::logger>("router_test", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    build(config());
  }
  void TearDown() override { spdlog::set_default_logger(previous_logger_); }

  static router_config config() {
    router_config cfg;
    cfg.context_id = me;
    cfg.parent_ids = {parent_id, root_id};
    return cfg;
  }

  // A fresh router with the parent and the three children connected, and
  // the ADD_ROUTEs that announced the children already forgotten.
  void build(router_config cfg) {
    r_ = std::make_unique<router>(std::move(cfg));
    r_->on_route_change = [this](std::uint32_t id, peer* via, bool added) {
      route_changes_.emplace_back(id, via, added);
    };
    if (r_->parent_id()) r_->add_peer(&up_, parent_id);
    r_->add_peer(&a_, a_id);
    r_->add_peer(&b_, b_id);
    r_->add_peer(&c_, c_id);
    clear();
  }

  void clear() {
    for (fake_peer* p : {&up_, &a_, &b_, &c_, &client_}) p->sent.clear();
    route_changes_.clear();
  }

  // a announces 21 behind it, as Mitogen's RouteMonitor does.
  void add_grandchild() {
    r_->on_receive(&a_, make(a_id, me, handle::add_route, 0, "21:grandchild"));
    ASSERT_EQ(r_->explicit_route(grandchild_id), &a_);
    clear();
  }

  // A handler that records what it gets.
  std::uint32_t recorder(std::vector<message>& got, handler_options opts = {}) {
    return r_->add_handler([&got](message& m) { got.push_back(m); }, std::move(opts));
  }

  bool logged(const std::string& text) const {
    return std::any_of(sink_->lines.begin(), sink_->lines.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
  }
  std::string log_text() const {
    std::string s;
    for (const std::string& l : sink_->lines) s += l + "\n";
    return s;
  }

  bool nothing_sent() const {
    return up_.sent.empty() && a_.sent.empty() && b_.sent.empty() && c_.sent.empty() &&
           client_.sent.empty();
  }

  fake_peer up_{"parent"}, a_{"child-a"}, b_{"child-b"}, c_{"child-c"}, client_{"client"};
  std::unique_ptr<router> r_;
  std::vector<std::tuple<std::uint32_t, peer*, bool>> route_changes_;
  std::shared_ptr<capture_sink> sink_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

// ---------------------------------------------------------------------------
// Unidirectional mode

class UnidirectionalTest : public RouterTest {
 protected:
  void SetUp() override {
    RouterTest::SetUp();
    router_config cfg = config();
    cfg.unidirectional = true;
    build(cfg);
  }
};

// ---------------------------------------------------------------------------
// Size limit

class SizeLimitTest : public RouterTest {
 protected:
  void SetUp() override {
    RouterTest::SetUp();
    router_config cfg = config();
    cfg.max_message_size = 64;
    build(cfg);
  }
};

}  // namespace faultmux::test
