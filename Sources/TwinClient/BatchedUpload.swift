import Foundation

/// How a run's files are grouped into upload sessions. One session costs the server a begin, a proof
/// and a commit whatever it carries, so files travel in batches. A batch is whatever is encoded when
/// the previous one is done, once `minimumFiles` are (or everything left, or `maximumBytes`), bounded
/// in files and in ciphertext bytes, which stay in memory until the batch is committed.
public struct UploadBatching: Sendable {
    public var maximumFiles: Int
    public var maximumBytes: Int
    /// How many encoded files a batch waits for while more are still being encoded. The sender is
    /// answered at once (the encoders have threads of their own), so without it batches were of
    /// one or two files: 6 to 14 sessions per user of the stream instead of 3 to 5, and the server
    /// spent ~20 % more CPU on begins, proofs and commits (0.64-0.74 s against 0.47-0.60 s).
    public var minimumFiles: Int
    /// How many encoded files may wait for a batch: bounds memory while a slow batch is sent.
    public var lookahead: Int

    public init(maximumFiles: Int = 16, maximumBytes: Int = 32 << 20, minimumFiles: Int = 8, lookahead: Int = 32) {
        self.maximumFiles = max(1, maximumFiles)
        self.maximumBytes = max(1, maximumBytes)
        self.lookahead = max(1, lookahead)
        // Never more than fit in a batch, or than may wait for one (the encoders would stop first).
        self.minimumFiles = min(max(1, minimumFiles), self.maximumFiles, self.lookahead)
    }
}

extension TwinSession {
    /// A file to upload and the entry name it gets.
    public struct UploadItem: Sendable {
        public var path: String
        public var name: String
        public init(path: String, name: String) {
            self.path = path
            self.name = name
        }
    }

    /// Uploads `items`: files are encoded `width` at a time, started in order, on threads of their
    /// own (`EncodingThreads`), while earlier ones are sent in batches of what is ready. A batch is
    /// announced once the previous one's chunks and proof are in (only its commit may still be
    /// running), so a chunk shared with an earlier batch is held by then and neither sent nor proven
    /// again; inside a batch the server lists a shared missing chunk once. `report` sees each file's
    /// result, in order.
    public func upload(_ items: [UploadItem], attributes: [String], width: Int, batching: UploadBatching = UploadBatching(),
                       report: (UploadResult) -> Void) async throws {
        let encodingThreads = EncodingThreads(count: min(width, ProcessInfo.processInfo.activeProcessorCount))
        do {
            try await upload(items, attributes: attributes, width: width, batching: batching, encodingOn: encodingThreads, report: report)
        } catch {
            await encodingThreads.shutdown()
            throw error
        }
        await encodingThreads.shutdown()
    }

    private func upload(_ items: [UploadItem], attributes: [String], width: Int, batching: UploadBatching,
                        encodingOn encodingThreads: EncodingThreads, report: (UploadResult) -> Void) async throws {
        let queue = PreparedQueue(count: items.count, lookahead: batching.lookahead)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask(executorPreference: encodingThreads) {
                try await forEachConcurrently(Array(items.indices), width: width) { _, index in
                    do {
                        try await queue.waitForRoom(index)
                        await queue.put(index, try await prepare(path: items[index].path, name: items[index].name))
                    } catch {
                        // At once, not when the other encoders are done: some may be waiting for room.
                        await queue.fail(error)
                        throw error
                    }
                }
            }
            // What the first batch would otherwise wait for, done while the first files encode. Queued
            // after the encoders: the first begin waits for a file anyway, the capsule for longer.
            group.addTask { await warmUp(attributes: attributes) }
            do {
                // A batch's commit runs while the next batch is announced: that batch's begin comes
                // after this one's chunks and proof are in, so what they share is already held.
                try await withThrowingTaskGroup(of: [(index: Int, result: UploadResult)].self) { commits in
                    var committing = false
                    // Batches may finish out of file order; results are reported in it.
                    var finished: [Int: UploadResult] = [:]
                    var reported = 0
                    func collect(_ results: [(index: Int, result: UploadResult)]) {
                        for (index, result) in results { finished[index] = result }
                        while let result = finished.removeValue(forKey: reported) {
                            report(result)
                            reported += 1
                        }
                    }
                    while case let batch = try await queue.take(maximumFiles: batching.maximumFiles, maximumBytes: batching.maximumBytes, minimumFiles: batching.minimumFiles),
                          !batch.isEmpty {
                        let announced = try await announce(batch.map(\.prepared), attributes: attributes)
                        if committing, let results = try await commits.next() { collect(results) }
                        let indices = batch.map(\.index)
                        commits.addTask { Array(zip(indices, try await commit(announced)).map { (index: $0, result: $1) }) }
                        committing = true
                    }
                    while let results = try await commits.next() { collect(results) }
                }
            } catch {
                await queue.fail(error)
                throw error
            }
            try await group.waitForAll()
        }
    }
}

extension TwinSession {
    /// Opens the connection the first begin will use, and makes the attribute capsule (its first
    /// use decodes the authority). Each costs a few milliseconds that a run used to pay one after
    /// the other, with its encoders done, before its first batch could commit. Failures are left
    /// for the real requests to meet and report.
    func warmUp(attributes: [String]) async {
        async let connected: Void? = try? await api.health()
        if !attributes.isEmpty { _ = try? attributeWrappers.wrapper(for: attributes) }
        _ = await connected
    }
}

/// Encoded files waiting to be sent, handed out as they are ready, lowest index first: a large file
/// still encoding does not hold back the smaller ones behind it, so the sender keeps pace with the
/// encoders and little is left to send once the last file is done. The encoders wait while a file
/// is `lookahead` or more ahead of the first file not yet taken; a failure on either side wakes the
/// other, which then throws.
actor PreparedQueue {
    private let count: Int
    private let lookahead: Int
    private var ready: [Int: TwinSession.PreparedUpload] = [:]
    private var taken: [Bool]
    /// The first file not taken yet (`count` once all are).
    private var next = 0
    private var takenCount = 0
    /// Files neither taken nor ready: being encoded or not started yet.
    private var stillToCome: Int { count - takenCount - ready.count }
    private var readyBytes: Int { ready.values.reduce(0) { $0 + $1.chunks.reduce(0) { $0 + $1.count } } }

    /// Whether `take` is waiting (for tests).
    var senderIsWaiting: Bool { sender != nil }
    private var failure: (any Error)?
    private var sender: CheckedContinuation<Void, Never>?
    private var encoders: [CheckedContinuation<Void, Never>] = []

    init(count: Int, lookahead: Int) {
        self.count = count
        self.lookahead = lookahead
        taken = [Bool](repeating: false, count: count)
    }

    struct Stopped: Error {}

    /// Returns once file `index` is within `lookahead` of the first file not taken yet.
    func waitForRoom(_ index: Int) async throws {
        while index - next >= lookahead, failure == nil {
            await withCheckedContinuation { encoders.append($0) }
        }
        if failure != nil { throw Stopped() }
    }

    func put(_ index: Int, _ prepared: TwinSession.PreparedUpload) {
        ready[index] = prepared
        wakeSender()
    }

    /// Files that are ready, lowest index first, within the limits; empty once every file was taken.
    /// Waits for at least one, and for `minimumFiles` while more files are still to come and the
    /// ready ones hold less than `maximumBytes`.
    func take(maximumFiles: Int, maximumBytes: Int, minimumFiles: Int = 1) async throws -> [(index: Int, prepared: TwinSession.PreparedUpload)] {
        while next < count, failure == nil,
              ready.isEmpty || (ready.count < min(minimumFiles, maximumFiles) && stillToCome > 0 && readyBytes < maximumBytes) {
            await withCheckedContinuation { sender = $0 }
        }
        if let failure { throw failure }
        var batch: [(index: Int, prepared: TwinSession.PreparedUpload)] = []
        var bytes = 0
        for index in ready.keys.sorted() {
            let prepared = ready[index]!
            let size = prepared.chunks.reduce(0) { $0 + $1.count }
            if batch.count == maximumFiles || (!batch.isEmpty && bytes + size > maximumBytes) { break }
            batch.append((index, prepared))
            bytes += size
            ready[index] = nil
            taken[index] = true
            takenCount += 1
        }
        while next < count, taken[next] { next += 1 }
        wakeEncoders()
        return batch
    }

    func fail(_ error: any Error) {
        if failure == nil { failure = error }
        wakeSender()
        wakeEncoders()
    }

    private func wakeSender() {
        sender?.resume()
        sender = nil
    }

    private func wakeEncoders() {
        let waiting = encoders
        encoders.removeAll()
        for encoder in waiting { encoder.resume() }
    }
}
