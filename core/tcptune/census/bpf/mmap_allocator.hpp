#pragma once

// An allocator that takes every block straight from mmap and gives it back with
// munmap. For the few large, short-lived buffers whose size follows the socket
// count (a reconciliation's cookie table): malloc would keep the freed pages in
// its heap and the daemon's RSS would grow with the population it once saw.

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace tcptune {

template <typename T>
struct MmapAllocator {
    using value_type = T;

    MmapAllocator() = default;
    template <typename U>
    explicit MmapAllocator(const MmapAllocator<U>& /*other*/) noexcept {}

    T* allocate(std::size_t n) {
        if (n > static_cast<std::size_t>(-1) / sizeof(T)) {
            throw std::bad_array_new_length();
        }
        void* block = ::mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (block == MAP_FAILED) {
            throw std::bad_alloc();
        }
        return static_cast<T*>(block);
    }
    void deallocate(T* block, std::size_t n) noexcept { ::munmap(block, n * sizeof(T)); }

    template <typename U>
    bool operator==(const MmapAllocator<U>& /*other*/) const noexcept {
        return true;
    }
};

}  // namespace tcptune
