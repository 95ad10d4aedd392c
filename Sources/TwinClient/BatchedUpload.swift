import AsyncAlgorithms
import Convergent
import Foundation
import TwinProtocol

/// How a run's files are grouped into upload sessions. One session costs the server a begin, a proof
/// and a commit whatever it carries, so files travel in batches. A batch is whatever is encoded when
/// the previous one is done, once `minimumFiles` are (or everything left, or `maximumBytes`), bounded
/// in files and in ciphertext bytes, which stay in memory until the batch is committed.
public struct UploadBatching: Sendable {
    public var maximumFiles: Int
    public var maximumBytes: Int
    /// How many encoded files a batch waits for while more are still being encoded. The sender is
    /// answered at once (the encoders have threads of their own), so without it batches would shrink
    /// to one or two files, and every extra session costs the server another begin, proof and commit.
    public var minimumFiles: Int
    /// How many encoded files may wait in the buffer for the sender: bounds memory while a slow batch
    /// is sent (with the `width` being encoded and a batch being gathered).
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
        /// The item is the thumbnail of the image at `path` (`Thumbnail`), not the file itself.
        public var thumbnail: Bool
        public init(path: String, name: String, thumbnail: Bool = false) {
            self.path = path
            self.name = name
            self.thumbnail = thumbnail
        }
    }

    /// Uploads `items`: files are encoded `width` at a time, started in order, on threads of their
    /// own (`EncodingThreads`), while earlier ones are sent in batches of what is ready
    /// (`BatchPipeline`). A batch is announced once the previous one's chunks and proof are in
    /// (only its commit may still be running); inside a batch the server lists a shared missing
    /// chunk once. `report` sees each file's result, in order.
    ///
    /// A re-run: `existing` maps names that already have an entry to its file tag. A file whose
    /// entry holds the same content is `unchanged` and sends nothing; one whose entry holds other
    /// content is `refused`, or, with `replace`, goes up as new and its commit replaces the entry
    /// (atomically: a run that fails or is cut off leaves the old entry in place).
    public func upload(_ items: [UploadItem], attributes: [String], width: Int, batching: UploadBatching = UploadBatching(),
                       existing: [String: Tag] = [:], replace: Bool = false,
                       report: (UploadResult) -> Void) async throws {
        let encodingThreads = EncodingThreads(count: min(width, ProcessInfo.processInfo.activeProcessorCount))
        do {
            try await BatchPipeline.run(
                count: items.count, width: width, batching: batching, encodingOn: encodingThreads,
                prepare: { index in
                    let item = items[index]
                    return item.thumbnail ? try await prepareThumbnail(path: item.path, name: item.name)
                                          : try await prepare(path: item.path, name: item.name)
                },
                size: \.ciphertextBytes,
                warmUp: { await warmUp(attributes: attributes) },
                announce: { batch in
                    // Files the run need not send are settled here; the rest go up as one batch.
                    var settled: [UploadResult.Outcome?] = []
                    var fresh: [PreparedUpload] = []
                    var replacing: [String: Tag] = [:]
                    for prepared in batch {
                        switch existing[prepared.name] {
                        case nil:
                            settled.append(nil)
                            fresh.append(prepared)
                        case prepared.encoded.fileTag?:
                            settled.append(.unchanged)
                        case let current? where replace:
                            // The commit swaps the entries: nothing is deleted before it.
                            replacing[prepared.name] = current
                            settled.append(.replaced)
                            fresh.append(prepared)
                        case _?:
                            settled.append(.refused)
                        }
                    }
                    let announced = fresh.isEmpty ? nil : try await announce(fresh, attributes: attributes, replacing: replacing)
                    return SettledBatch(announced: announced, settled: settled, names: batch.map(\.name), lengths: batch.map(\.encoded.length))
                },
                commit: { batch in
                    let committed: [UploadResult] = if let announced = batch.announced { try await commit(announced) } else { [] }
                    var sent = committed.makeIterator()
                    return try batch.settled.indices.map { position in
                        switch batch.settled[position] {
                        case nil, .uploaded?, .replaced?:
                            guard var result = sent.next() else { throw TwinClientError.integrity("a batch committed fewer files than it sent") }
                            if batch.settled[position] == .replaced { result.outcome = .replaced }
                            return result
                        case let outcome?:
                            return UploadResult(name: batch.names[position], logicalBytes: batch.lengths[position], sentBytes: 0, proofBytes: 0,
                                                deduplicatedBytes: 0, fileExisted: true, outcome: outcome)
                        }
                    }
                },
                report: report)
        } catch {
            await encodingThreads.shutdown()
            throw error
        }
        await encodingThreads.shutdown()
    }
}

/// The upload pipeline's shape, apart from what it moves: items are prepared `width` at a time,
/// started in order, on `encodingOn`; prepared items flow through an `AsyncThrowingChannel` and a
/// bounded buffer (swift-async-algorithms) to one sender, which takes them in batches, announces a
/// batch, and commits it while the next one is announced. Results are reported in item order.
///
/// Waiting is left to those primitives: a preparer waits only while `lookahead` prepared items are
/// buffered (so the sender, which then has a batch, is not waiting); the sender waits only for
/// items still being prepared. Neither can wait for the other at once, so the pipeline cannot
/// stall; a failure on either side ends the other (the channel fails, or the group cancels a
/// preparer's send).
enum BatchPipeline {
    static func run<Prepared: Sendable, Announced: Sendable, Result: Sendable>(
        count: Int, width: Int, batching: UploadBatching, encodingOn executor: (any TaskExecutor)? = nil,
        prepare: @escaping @Sendable (Int) async throws -> Prepared,
        size: @escaping @Sendable (Prepared) -> Int,
        warmUp: @escaping @Sendable () async -> Void = {},
        announce: ([Prepared]) async throws -> Announced,
        commit: @escaping @Sendable (Announced) async throws -> [Result],
        report: (Result) -> Void
    ) async throws {
        guard count > 0 else { return }
        let prepared = AsyncThrowingChannel<(index: Int, item: Prepared), any Error>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask(executorPreference: executor) {
                do {
                    try await forEachConcurrently(Array(0..<count), width: width) { _, index in
                        let item = try await prepare(index)
                        await prepared.send((index, item))
                    }
                    prepared.finish()
                } catch {
                    prepared.fail(error)
                    throw error
                }
            }
            // What the first batch would otherwise wait for, done while the first items prepare.
            group.addTask { await warmUp() }
            var incoming = prepared.buffer(policy: .bounded(batching.lookahead)).makeAsyncIterator()
            var assembler = BatchAssembler<Prepared>(count: count, batching: batching, size: size)
            // A batch's commit runs while the next batch is announced.
            try await withThrowingTaskGroup(of: [(index: Int, result: Result)].self) { commits in
                var committing = false
                // Batches may finish out of item order; results are reported in it.
                var finished: [Int: Result] = [:]
                var reported = 0
                func collect(_ results: [(index: Int, result: Result)]) {
                    for (index, result) in results { finished[index] = result }
                    while let result = finished.removeValue(forKey: reported) {
                        report(result)
                        reported += 1
                    }
                }
                while let batch = try await assembler.next(from: &incoming) {
                    let announced = try await announce(batch.map(\.item))
                    if committing, let results = try await commits.next() { collect(results) }
                    let indices = batch.map(\.index)
                    commits.addTask { Array(zip(indices, try await commit(announced)).map { (index: $0, result: $1) }) }
                    committing = true
                }
                while let results = try await commits.next() { collect(results) }
            }
            try await group.waitForAll()
        }
    }
}

/// Gathers prepared items, as they arrive in any order, into batches: lowest index first (a large
/// item still preparing does not hold back the ones behind it), at most `maximumFiles` items and
/// `maximumBytes` (one item alone may exceed it), and, while more items are to come and fewer than
/// `maximumBytes` wait, at least `minimumFiles`.
struct BatchAssembler<Item> {
    let count: Int
    let batching: UploadBatching
    let size: (Item) -> Int
    private var waiting: [Int: (item: Item, size: Int)] = [:]
    private var received = 0

    init(count: Int, batching: UploadBatching, size: @escaping (Item) -> Int) {
        self.count = count
        self.batching = batching
        self.size = size
    }

    private var waitingBytes: Int { waiting.values.reduce(0) { $0 + $1.size } }

    /// The next batch, receiving from `incoming` as needed; nil once every item went out.
    mutating func next<Incoming: AsyncIteratorProtocol>(from incoming: inout Incoming) async throws -> [(index: Int, item: Item)]?
    where Incoming.Element == (index: Int, item: Item) {
        while received < count,
              waiting.isEmpty || (waiting.count < batching.minimumFiles && waitingBytes < batching.maximumBytes) {
            guard let (index, item) = try await incoming.next() else { break }
            waiting[index] = (item, size(item))
            received += 1
        }
        guard !waiting.isEmpty else { return nil }
        var batch: [(index: Int, item: Item)] = []
        var bytes = 0
        for index in waiting.keys.sorted() {
            let (item, itemSize) = waiting[index]!
            if batch.count == batching.maximumFiles || (!batch.isEmpty && bytes + itemSize > batching.maximumBytes) { break }
            batch.append((index, item))
            bytes += itemSize
            waiting[index] = nil
        }
        return batch
    }
}

/// A batch of a re-run: the part that goes up (nil: none of it), and per file, in batch order,
/// what was settled without sending it (nil and `.replaced`: sent).
struct SettledBatch: Sendable {
    var announced: TwinSession.AnnouncedBatch?
    var settled: [TwinSession.UploadResult.Outcome?]
    var names: [String]
    var lengths: [Int]
}

extension TwinSession {
    /// Opens the connection the first begin will use, and makes the attribute capsule (its first
    /// use decodes the authority), while the first files encode: paid one after the other, with the
    /// encoders done, they would delay the first batch's commit. Failures are left for the real
    /// requests to meet and report.
    func warmUp(attributes: [String]) async {
        async let connected: Void? = try? await api.health()
        if !attributes.isEmpty { _ = try? attributeWrappers.wrapper(for: keyring.capsuleAttributes(TwinProtocol.normalizedAttributes(attributes))) }
        _ = await connected
    }
}
