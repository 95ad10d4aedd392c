import Foundation

/// How a run's files are grouped into upload sessions. One session costs the server a begin, a proof
/// and a commit whatever it carries, so files travel in batches; a batch is bounded in files and in
/// bytes because its chunk ciphertexts stay in memory until it is committed.
public struct UploadBatching: Sendable {
    public var maximumFiles: Int
    public var maximumBytes: Int

    public init(maximumFiles: Int = 16, maximumBytes: Int = 32 << 20) {
        self.maximumFiles = max(1, maximumFiles)
        self.maximumBytes = max(1, maximumBytes)
    }

    /// Consecutive groups of `sizes`' indices: each group is non-empty, has at most `maximumFiles`
    /// files, and exceeds `maximumBytes` only when it is a single file.
    public func groups(sizes: [Int]) -> [Range<Int>] {
        var groups: [Range<Int>] = []
        var start = 0, bytes = 0
        for (index, size) in sizes.enumerated() {
            if index > start, index - start == maximumFiles || bytes + size > maximumBytes {
                groups.append(start..<index)
                (start, bytes) = (index, 0)
            }
            bytes += size
        }
        if start < sizes.count { groups.append(start..<sizes.count) }
        return groups
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

    /// Uploads `items` in order, in batches: while one batch goes through the protocol, the next is
    /// encoded (`width` files at once). Batches are sent one after another, so a chunk shared with an
    /// earlier batch is stored by the time a later one announces it, and is proven instead of sent
    /// again; inside a batch the server lists a shared missing chunk once. `report` sees each
    /// file's result, in order.
    public func upload(_ items: [UploadItem], attributes: [String], width: Int, batching: UploadBatching = UploadBatching(),
                       report: (UploadResult) -> Void) async throws {
        let sizes = items.map { (try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) ?? 0 }
        let groups = batching.groups(sizes: sizes)
        guard let first = groups.first else { return }
        @Sendable func prepareGroup(_ group: Range<Int>) async throws -> [PreparedUpload] {
            var prepared = [PreparedUpload?](repeating: nil, count: group.count)
            try await forEachConcurrently(Array(group), width: width) { _, index in
                (index - group.lowerBound, try await prepare(path: items[index].path, name: items[index].name))
            } consume: { prepared[$0.0] = $0.1 }
            return prepared.map { $0! }
        }
        var ready = try await prepareGroup(first)
        for (number, _) in groups.enumerated() {
            async let next = number + 1 < groups.count ? prepareGroup(groups[number + 1]) : []
            for result in try await send(ready, attributes: attributes) { report(result) }
            ready = try await next
        }
    }
}
