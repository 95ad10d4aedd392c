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
        // One heap for every thread, grown 64 MiB at a time: per-thread arenas would each grow and
        // fault on their own, and `twin serve`'s threads are few, with glibc's per-thread caches
        // serving small allocations without the arena's lock.
        // The heap is not advised onto transparent huge pages. On a virtual machine whose free
        // memory is reported back to the host (virtio-balloon free page reporting, as on our hosts),
        // a fresh 2 MiB page is most often one the host must back anew, so zeroing it cost more
        // than the 4 KiB faults it saved (docs/PERFORMANCE.md).
        _ = glibcMallopt(-8 /* M_ARENA_MAX */, 1)
        _ = glibcMallopt(-2 /* M_TOP_PAD */, 64 << 20)
    }
}

// malloc.h is not part of Swift's Glibc module map.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
