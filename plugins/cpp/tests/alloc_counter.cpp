// glibc malloc interposition: the executable's malloc wins over libc's for the whole
// process (libzmq and libmsgpackc included), and forwards to glibc's __libc_* functions.
#include "alloc_counter.h"

#include <cstddef>
#include <cstdlib>

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define MERG_COUNT_ALLOCATIONS 1
#endif

namespace merg_test {
namespace {
thread_local std::atomic<long> tl_allocations{0};
}  // namespace

std::atomic<long>* ThisThreadAllocations() { return &tl_allocations; }

void ProbeAllocation() {
  static void* volatile sink;
  sink = std::malloc(64);
  std::free(sink);
}

#ifdef MERG_COUNT_ALLOCATIONS
bool AllocationCountingAvailable() { return true; }
#else
bool AllocationCountingAvailable() { return false; }
#endif

}  // namespace merg_test

#ifdef MERG_COUNT_ALLOCATIONS
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* pointer, size_t size);
void* __libc_memalign(size_t alignment, size_t size);

static inline void Count() {
  merg_test::ThisThreadAllocations()->fetch_add(1, std::memory_order_relaxed);
}

void* malloc(size_t size) {
  Count();
  return __libc_malloc(size);
}

void* calloc(size_t count, size_t size) {
  Count();
  return __libc_calloc(count, size);
}

void* realloc(void* pointer, size_t size) {
  Count();
  return __libc_realloc(pointer, size);
}

void* memalign(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  Count();
  void* pointer = __libc_memalign(alignment, size);
  if (pointer == nullptr) return 12;  // ENOMEM
  *out = pointer;
  return 0;
}
}  // extern "C"
#endif
