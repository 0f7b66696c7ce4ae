// A leak planted in any process that preloads this (LD_PRELOAD): each
// connection accept4() returns leaves one more fd and 64 KiB of touched
// memory behind, as a mux that forgets a stream would. The soak's tests run
// the mux under it to show the growth oracle fails on such a leak.
#include <dlfcn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace {

constexpr std::size_t leak_bytes = 64 * 1024;

}  // namespace

// The leaked blocks, chained so that nothing can tell they are unused.
extern "C" {
void* faultmux_test_leaked = nullptr;
}

extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  using accept4_fn = int (*)(int, sockaddr*, socklen_t*, int);
  static auto real = reinterpret_cast<accept4_fn>(::dlsym(RTLD_NEXT, "accept4"));
  const int r = real(fd, addr, len, flags);
  if (r >= 0) {
    (void)::dup(r);
    if (void* block = std::malloc(leak_bytes)) {
      std::memset(block, 0x5a, leak_bytes);
      *static_cast<void**>(block) = faultmux_test_leaked;
      faultmux_test_leaked = block;
    }
  }
  return r;
}
