#if canImport(Glibc)
import Glibc

/// How this process's heap is set up before any command runs: the allocation pattern of an upload
/// (chunk buffers and ciphertexts of up to 512 KiB, tens of megabytes of them held for the run)
/// made glibc's defaults cost more in the kernel than in the allocator.
enum ProcessHeap {
    static func configure() {
        // Chunks and ciphertexts are above glibc's default mmap threshold: each would be mapped and
        // unmapped, page-faulting and zeroing fresh pages, and the page faults serialise threads on
        // the address-space lock. Keep them on the heap, and keep freed heap instead of trimming it
        // back to the kernel after every chunk. (32 MiB is the largest threshold glibc accepts on
        // 64-bit systems; it refuses more, leaving its default.)
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD, malloc.h */, 32 << 20)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD, malloc.h */, 256 << 20)
        // One heap for every thread, grown 64 MiB at a time, backed by 2 MiB pages. With 4 KiB pages
        // an upload takes a page fault per fresh 4 KiB of the ciphertexts the run keeps (caches and
        // batches); with huge pages it takes far fewer, and the kernel zeroes whole 2 MiB pages
        // instead, which costs less than the faults it saves. Per-thread arenas would each grow (and
        // fault) on their own, and only the one heap can be marked for huge pages up front. `twin
        // serve` runs with the same heap: its threads are few, and glibc's per-thread caches serve
        // small allocations without the arena's lock.
        _ = glibcMallopt(-8 /* M_ARENA_MAX */, 1)
        _ = glibcMallopt(-2 /* M_TOP_PAD */, 64 << 20)
        adviseHugePages()
    }

    /// Grows the heap now (by the top pad) and asks for transparent huge pages over the new part.
    /// Where the kernel has them disabled, or the heap cannot grow by `brk`, this changes nothing.
    private static func adviseHugePages() {
        let hugePage = UInt(2 << 20)
        let start = UInt(bitPattern: sbrk(0))
        // Larger than any free space at the top of the heap, so the allocator must extend it; freed
        // at once, it stays as the top of the heap (below the trim threshold). Handed to a function
        // the optimiser cannot see into, or it would drop the pair as unused.
        if let probe = malloc(1 << 20) {
            _ = glibcMallocUsableSize(probe)
            free(probe)
        }
        let end = UInt(bitPattern: sbrk(0))
        let alignedStart = (start + hugePage - 1) & ~(hugePage - 1)
        guard start != 0, end > alignedStart + hugePage else { return }
        let length = (end - alignedStart) & ~(hugePage - 1)
        _ = madvise(UnsafeMutableRawPointer(bitPattern: alignedStart), Int(length), 14 /* MADV_HUGEPAGE, mman-linux.h */)
    }
}

// malloc.h is not part of Swift's Glibc module map.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

@_silgen_name("malloc_usable_size")
private func glibcMallocUsableSize(_ pointer: UnsafeMutableRawPointer) -> Int
#endif
