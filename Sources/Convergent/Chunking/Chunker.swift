import Synchronization

/// One piece of a stream, with the kind of region it came from.
public struct Chunk: Sendable, Equatable, Hashable {
    public var bytes: [UInt8]
    public var kind: RegionKind
}

/// Cuts a byte stream into chunks: at image-structure edges first (see `StructureScanner`), with
/// FastCDC inside payload runs and inside anything too large or not understood.
///
/// Memory is one buffer of `2 × maximumSize + header` bytes whatever the stream's length (or, for a
/// source already in memory, that source's own array); the chunker looks at most one maximum-size
/// window ahead. (A larger buffer would move fewer bytes on refills, but refills do not bound the
/// chunker's speed.)
public struct Chunker<Source: ByteSource> {
    public let parameters: ChunkingParameters
    public private(set) var format: ImageFormat = .unknown

    private var source: Source
    private let bufferPool: ChunkBufferPool?
    private var buffer: [UInt8] = []
    private var ownsBuffer = false  // false while `buffer` is the source's own array
    private var head = 0  // buffer[head..<tail] holds the stream from `position` on
    private var tail = 0
    private var position: Int64 = 0
    private var sourceExhausted = false
    private var scanner: StructureScanner?

    // The run being cut: consecutive regions that are cut as one (an IDAT run, small metadata).
    private var runKind: RegionKind = .payload
    private var runEnd: Int64?  // nil: to the end of the stream
    private var runLastRegion: Region?
    private var runResolved = true  // whether the region after runEnd is known not to join
    private var pendingRegion: Region?  // scanned at runEnd but belonging to the next run
    private var inRun = false

    /// - Parameter bufferPool: where the read buffer comes from and, once the encoder is done, goes back to.
    public init(source: Source, parameters: ChunkingParameters = .twin, bufferPool: ChunkBufferPool? = nil) {
        self.source = source
        self.parameters = parameters
        self.bufferPool = bufferPool
    }

    /// Hands the read buffer back to the pool and ends the stream: `next()` returns nil afterwards,
    /// whatever was left unread (so no stale or foreign buffer contents can ever be cut).
    mutating func recycleBuffer() {
        if ownsBuffer, let bufferPool { bufferPool.give(buffer) }
        buffer = []
        ownsBuffer = false
        (head, tail) = (0, 0)
        sourceExhausted = true
    }

    /// The next chunk, or nil at the end of the stream.
    public mutating func next() throws -> Chunk? {
        try withNextChunk { bytes, kind in Chunk(bytes: Array(bytes), kind: kind) }
    }

    /// Cuts the next chunk and lends it to `body` where it lies in the chunker's buffer, without
    /// copying it; the bytes are valid only during the call. Returns nil at the end of the stream.
    public mutating func withNextChunk<Result>(
        _ body: (UnsafeRawBufferPointer, RegionKind) throws -> Result
    ) throws -> Result? {
        try fill()
        guard head < tail else { return nil }
        if scanner == nil {
            format = ImageFormat.sniff(buffer[head..<min(tail, head + ImageFormat.sniffLength)])
            scanner = StructureScanner(format: format)
        }
        if !inRun || runEnd == position { startRun() }
        resolveRun()

        let available = tail - head
        let runRemaining = runEnd.map { Int($0 - position) }
        let length: Int
        if runKind == .metadata, runResolved, let runRemaining, runRemaining <= parameters.maximumSize {
            length = min(runRemaining, available)
        } else {
            let window = min(available, runRemaining ?? Int.max)
            length = buffer.withUnsafeBytes { raw in
                FastCDC.cut(UnsafeRawBufferPointer(rebasing: raw[head..<head + window]), parameters)
            }
        }
        let result = try buffer.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[head..<head + length]), runKind)
        }
        head += length
        position += Int64(length)
        if let runEnd, position >= runEnd { inRun = false }
        if head == tail, sourceExhausted { inRun = false }
        return result
    }

    // MARK: Runs

    private mutating func startRun() {
        let region = pendingRegion ?? scanRegion(at: position)
        pendingRegion = nil
        inRun = true
        runKind = region.kind
        runLastRegion = region
        runEnd = region.length.map { position + $0 }
        runResolved = runEnd == nil
    }

    /// Extends the run over every following region that joins it, as far as the window reaches, so
    /// the cut below knows whether `runEnd` is a forced boundary.
    private mutating func resolveRun() {
        while !runResolved, let end = runEnd {
            let offset = Int(end - position)
            guard offset <= parameters.maximumSize else { return }  // beyond this chunk's window
            guard offset < tail - head else {  // the run ends with the stream
                runResolved = true
                return
            }
            let next = scanRegion(at: end)
            if joins(runLastRegion!, next) {
                runLastRegion = next
                runEnd = next.length.map { end + $0 }
                runResolved = runEnd == nil
            } else {
                pendingRegion = next
                runResolved = true
            }
        }
    }

    private func joins(_ previous: Region, _ next: Region) -> Bool {
        switch (previous.kind, next.kind) {
        case (.payload, .payload):
            return next.continuesPayload
        case (.metadata, .metadata):
            let small = Int64(parameters.smallSegmentSize)
            return (previous.length ?? .max) < small && (next.length ?? .max) < small
        default:
            return false
        }
    }

    private mutating func scanRegion(at offset: Int64) -> Region {
        let start = head + Int(offset - position)
        let count = min(StructureScanner.headerLength, tail - start)
        return buffer.withUnsafeBytes { raw in
            scanner!.region(header: UnsafeRawBufferPointer(rebasing: raw[start..<start + count]))
        }
    }

    // MARK: Buffer

    /// Keeps at least one maximum-size window plus a region header buffered, unless the stream ends.
    private mutating func fill() throws {
        let wanted = parameters.maximumSize + StructureScanner.headerLength
        guard tail - head < wanted, !sourceExhausted else { return }
        if buffer.isEmpty {
            if let whole = source.takeRemainingBytes() {
                buffer = whole
                tail = whole.count
                sourceExhausted = true
                return
            }
            let size = 2 * parameters.maximumSize + StructureScanner.headerLength
            buffer = bufferPool?.take(count: size) ?? [UInt8](repeating: 0, count: size)
            ownsBuffer = true
        }
        if head > 0 {
            buffer.withUnsafeMutableBytes { raw in
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + head, byteCount: tail - head)
            }
            tail -= head
            head = 0
        }
        tail += try buffer.withUnsafeMutableBytes { raw in
            try source.fill(UnsafeMutableRawBufferPointer(rebasing: raw[tail...]))
        }
        if tail < buffer.count { sourceExhausted = true }
    }
}

/// Read buffers shared by the chunkers of one process, one stream after another: a fresh buffer per
/// file (1 MiB) would be zero-filled and page-faulted on first touch, a cost paid again for every
/// file. Only bytes a chunker has read since taking a buffer are ever looked at.
public final class ChunkBufferPool: Sendable {
    private let idle = Mutex<[[UInt8]]>([])
    /// Idle buffers kept at most (one per stream chunked at once is enough).
    public let limit: Int

    public init(limit: Int = 8) {
        self.limit = limit
    }

    func take(count: Int) -> [UInt8]? {
        idle.withLock { buffers in buffers.firstIndex { $0.count == count }.map { buffers.remove(at: $0) } }
    }

    func give(_ buffer: [UInt8]) {
        idle.withLock { buffers in if buffers.count < limit { buffers.append(buffer) } }
    }

    /// Buffers idle now.
    public var idleCount: Int { idle.withLock { $0.count } }
}
