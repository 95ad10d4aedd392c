/// Keeps garbage collection from deleting a blob that an upload is storing again at that moment.
///
/// Without it: the collector forgets a chunk in the database, a new upload (finding it missing)
/// writes the same tag (a no-op, the file still exists) and records it, and then the collector
/// deletes the file, leaving a recorded chunk with no blob. Uploads of chunks share the gate; a
/// collection pass holds it alone, from its database step to its last blob deletion. This covers one
/// server process; several processes sharing a store also rely on the grace period.
actor ChunkGate {
    private var uploads = 0
    private var collecting = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func withUpload<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        while collecting { await wait() }
        uploads += 1
        defer { uploads -= 1; wakeAll() }
        return try await body()
    }

    func withCollection<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        while collecting || uploads > 0 { await wait() }
        collecting = true
        defer { collecting = false; wakeAll() }
        return try await body()
    }

    private func wait() async { await withCheckedContinuation { waiters.append($0) } }

    private func wakeAll() {
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }
}
