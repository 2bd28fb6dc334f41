// Counts heap allocations per thread (malloc, calloc, realloc, aligned allocations and so
// every operator new), by interposing glibc's allocator in the test binaries. Used to show
// that the client's hot paths allocate nothing.
#pragma once

#include <atomic>

namespace merg_test {

// False where interposition is not available (not glibc, or a sanitizer build): skip then.
bool AllocationCountingAvailable();
// The calling thread's counter; another thread may read it through the pointer.
std::atomic<long>* ThisThreadAllocations();
// Allocates and frees once (for tests that the counter counts).
void ProbeAllocation();

}  // namespace merg_test
