// ADD_ROUTE bodies across hops: a name in UTF-8 (or any bytes) reaches every
// upstream router byte for byte; a malformed body (empty, no id, an id with
// trailing junk, out of range) is logged and ignored, the table unchanged and
// nothing relayed. The scenario route-table-abuse covers the same rules
// against a real mux; this is the part a scenario cannot address (the mux is
// the root, so nothing there is relayed upward).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/router_fixture.hpp"

namespace faultmux::test {
namespace {

class RouteBodies : public RouterTest {};

TEST_F(RouteBodies, NamesReachEveryHopByteForByte) {
  // Our parent (id 1) is itself a router whose parent is the root.
  router_config up_cfg;
  up_cfg.context_id = parent_id;
  up_cfg.parent_ids = {root_id};
  router up(up_cfg);
  fake_peer root{"root"}, us{"us"};
  up.add_peer(&root, root_id);
  up.add_peer(&us, me);
  root.sent.clear();
  const std::vector<std::pair<std::string, std::uint32_t>> bodies{
      {"21:na\xc3\xafve \xe5\x90\x8d\xe5\x89\x8d", 21},  // UTF-8
      {"22:\xff\xfe raw latin-1", 22},                   // not UTF-8 at all
      {"23:a:b:c", 23},                                  // colons in the name
      {"24", 24},                                        // no name
  };
  for (const auto& [body, id] : bodies) {
    SCOPED_TRACE(body);
    clear();
    root.sent.clear();
    r_->on_receive(&a_, make(a_id, me, handle::add_route, 0, body));
    EXPECT_EQ(r_->explicit_route(id), &a_);
    ASSERT_EQ(up_.sent.size(), 1u);
    EXPECT_EQ(up_.sent[0].data, body);
    // The next hop: our parent hears it from us, its immediate child.
    up.on_receive(&us, up_.sent[0]);
    EXPECT_EQ(up.explicit_route(id), &us);
    ASSERT_EQ(root.sent.size(), 1u);
    EXPECT_EQ(root.sent[0].handle, handle::add_route);
    EXPECT_EQ(root.sent[0].data, body);
  }
}

TEST_F(RouteBodies, MalformedBodiesAreLoggedAndIgnored) {
  for (std::string body : {"", ":name", "name", "21x:y", "-21:minus", "4294967296:big", " 21"}) {
    SCOPED_TRACE("body \"" + body + "\"");
    std::size_t routes = r_->route_count();
    sink_->lines.clear();
    r_->on_receive(&a_, make(a_id, me, handle::add_route, 0, body));
    EXPECT_EQ(r_->route_count(), routes);
    EXPECT_TRUE(route_changes_.empty());
    EXPECT_TRUE(nothing_sent());
    EXPECT_TRUE(logged("ignored: bad or reserved context id")) << log_text();
  }
}

}  // namespace
}  // namespace faultmux::test
