// The magic field marks a message's encoding (0x4d49 legacy, 0x4d4a pickled,
// 0x4d4b binary): a routed message keeps it, byte for byte, at every hop;
// between two unix clients of a real `faultmux mux`, and through a context
// (client -> mux -> context -> its child, and back). Messages the mux makes
// itself stay 0x4d49.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mux/frame.hpp"
#include "tests/support/context_fixture.hpp"
#include "tests/support/python_program.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/stream_support.hpp"

namespace faultmux {
namespace {

// A frame written field by field, not by the codec under test.
std::string raw_frame(std::uint16_t magic, std::uint32_t dst, std::uint32_t src, std::uint32_t auth,
                      std::uint32_t handle, std::uint32_t reply_to, const std::string& body) {
  std::string s{static_cast<char>(magic >> 8), static_cast<char>(magic & 0xff)};
  for (std::uint32_t v :
       {dst, src, auth, handle, reply_to, static_cast<std::uint32_t>(body.size())})
    for (std::uint8_t b : test::be32(v)) s.push_back(static_cast<char>(b));
  return s + body;
}

std::string hex(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

// Reads whole frames off fd until one is not ADD_ROUTE/DEL_ROUTE: its bytes.
std::optional<std::string> read_frame(int fd, ms timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  auto read_n = [&](std::size_t n) -> std::optional<std::string> {
    std::string buf;
    while (buf.size() < n) {
      auto left = std::chrono::duration_cast<ms>(end - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return std::nullopt;
      char tmp[4096];
      ssize_t r = ::recv(fd, tmp, std::min(sizeof(tmp), n - buf.size()), 0);
      if (r <= 0) return std::nullopt;
      buf.append(tmp, static_cast<std::size_t>(r));
    }
    return buf;
  };
  for (;;) {
    auto h = read_n(header_size);
    if (!h) return std::nullopt;
    auto u = [&](std::size_t at) {
      return (std::uint32_t{static_cast<std::uint8_t>((*h)[at])} << 24) |
             (std::uint32_t{static_cast<std::uint8_t>((*h)[at + 1])} << 16) |
             (std::uint32_t{static_cast<std::uint8_t>((*h)[at + 2])} << 8) |
             std::uint32_t{static_cast<std::uint8_t>((*h)[at + 3])};
    };
    auto body = read_n(u(22));
    if (!body) return std::nullopt;
    std::uint32_t handle = u(14);
    if (handle == handle::add_route || handle == handle::del_route) continue;
    return *h + *body;
  }
}

constexpr std::uint16_t magics[] = {magic_pickled_legacy, magic_pickled, magic_raw};

TEST(MagicCodec, DecodeThenEncodeKeepsEveryMagicByteForByte) {
  for (std::uint16_t magic : magics) {
    SCOPED_TRACE(magic);
    std::string in = raw_frame(magic, 1, 2, 3, 1000, 1001, "body");
    frame_decoder d;
    std::vector<message> out;
    ASSERT_EQ(d.feed(in, out), frame_error::none);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].magic, magic);
    EXPECT_EQ(hex(encode_frame(out[0])), hex(in));
  }
  // A message made here is legacy-pickled, as Mitogen 0.3.3 sends.
  EXPECT_EQ(hex(encode_frame(message{}).substr(0, 2)), "4d49");
  EXPECT_EQ(hex(encode_frame(message::dead("gone")).substr(0, 2)), "4d49");
}

class magic_routing : public contexts {};

TEST_F(magic_routing, between_two_unix_clients_the_magic_is_kept) {
  test::mux_process mux(dir_);
  auto c1 = test::streams::raw_client::connect_as(mux.socket_path(),
                                                  test::streams::raw_client::fake_pid());
  auto c2 = test::streams::raw_client::connect_as(mux.socket_path(),
                                                  test::streams::raw_client::fake_pid());
  for (std::uint16_t magic : magics) {
    SCOPED_TRACE(magic);
    std::string sent = raw_frame(magic, c2.id(), c1.id(), c1.id(), 1000, 1001, "to c2");
    ASSERT_TRUE(test::send_all(c1.fd(), sent.data(), sent.size()));
    auto got = read_frame(c2.fd(), 10s);
    ASSERT_TRUE(got) << mux.stderr_text();
    // The mux stamps its own authority on a unix client's message: only
    // auth_id differs from what c1 sent.
    EXPECT_EQ(hex(*got), hex(raw_frame(magic, c2.id(), c1.id(), c1.mux_id(), 1000, 1001, "to c2")));
  }
  // A message the mux makes (a dead reply: no route to 4000) is 0x4d49.
  std::string lost = raw_frame(magic_pickled, 4000, c1.id(), c1.id(), 1000, 1002, "lost");
  ASSERT_TRUE(test::send_all(c1.fd(), lost.data(), lost.size()));
  auto dead = read_frame(c1.fd(), 10s);
  ASSERT_TRUE(dead);
  EXPECT_EQ(hex(dead->substr(0, 2)), "4d49");
  EXPECT_EQ(hex(dead->substr(18, 4)), "000003e7") << "not a dead message: " << hex(*dead);
  stop_mux(mux);
}

// A stand-in for `faultmux context` that a context starts as its child: it
// says hello, logs every test frame it gets (hex) and sends it back to its
// sender with the same magic and body.
std::string relay_child_script(const std::string& log) {
  return fmt::format(R"(#!/usr/bin/python3
import os, socket, struct, sys
args = sys.argv[1:]
opt = lambda k: args[args.index(k) + 1]
me, parent = int(opt('--context-id')), int(opt('--parent-ids').split(',')[0])
s = socket.socket(fileno=int(opt('--fd')))
def frame(magic, dst, src, handle, reply_to, body):
    return struct.pack('>HIIIIII', magic, dst, src, src, handle, reply_to, len(body)) + body
def read(n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: sys.exit(0)
        b += c
    return b
s.sendall(frame(0x4d49, parent, me, 103, 0, b'%d:relay' % me))
while True:
    h = read(26)
    magic, dst, src, auth, handle, reply_to, n = struct.unpack('>HIIIIII', h)
    body = read(n)
    if handle == 106: sys.exit(0)
    if handle != 2000: continue
    with open('{}', 'a') as f: f.write((h + body).hex() + '\n')
    s.sendall(frame(magic, src, me, reply_to, 0, body))
)",
                     log);
}

TEST_F(magic_routing, through_a_context_the_magic_is_kept_both_ways) {
  // The mux runs from a copy of faultmux, so its contexts start children
  // from that path; once context a runs, the path becomes the relay script,
  // which a then starts as its child: client -> mux -> a -> relay and back.
  std::string program = dir_.file("faultmux-copy");
  std::filesystem::copy_file(test::binary(), program);
  ::chmod(program.c_str(), 0755);
  test::mux_config cfg;
  cfg.command = {program, "mux", "--events", dir_.file("mux.events")};
  test::mux_process mux(dir_, {}, cfg);
  std::string log = dir_.file("relay.log");
  {
    client_node control(mux.socket_path());
    control.context("a");
    write_script(dir_, "relay.py", relay_child_script(log));
    ASSERT_EQ(std::rename(dir_.file("relay.py").c_str(), program.c_str()), 0);
    std::uint32_t relay = control.context("a/relay");
    auto c1 = test::streams::raw_client::connect_as(mux.socket_path(),
                                                    test::streams::raw_client::fake_pid());
    int n = 0;
    for (std::uint16_t magic : magics) {
      SCOPED_TRACE(magic);
      const std::string body = "through a " + std::to_string(magic);
      std::string sent = raw_frame(magic, relay, c1.id(), c1.id(), 2000, 1500, body);
      ASSERT_TRUE(test::send_all(c1.fd(), sent.data(), sent.size()));
      // Back through a and the mux: exactly what the relay sent.
      auto back = read_frame(c1.fd(), 10s);
      ASSERT_TRUE(back) << mux.stderr_text();
      EXPECT_EQ(hex(*back), hex(raw_frame(magic, c1.id(), relay, relay, 1500, 0, body)));
      // On the way there, through the mux and a: as c1 sent it, stamped
      // with the mux's authority.
      ++n;
      std::string lines;
      ASSERT_TRUE(eventually(
          [&] { return count_of(lines = test::slurp(log), "\n") == static_cast<std::size_t>(n); },
          5s));
      std::string last = lines.substr(0, lines.size() - 1);
      last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
      EXPECT_EQ(last, hex(raw_frame(magic, relay, c1.id(), c1.mux_id(), 2000, 1500, body)));
    }
  }
  stop_mux(mux);
}

}  // namespace
}  // namespace faultmux
