/// Runs `operation` on every item with at most `width` of them in flight (structured: all child tasks
/// end before this returns; the first error cancels the rest), handing each result to `consume` in
/// completion order. Items are started in order, so the front of the list finishes first.
public func forEachConcurrently<Item: Sendable, Result: Sendable>(
    _ items: [Item], width: Int,
    operation: @escaping @Sendable (_ position: Int, _ item: Item) async throws -> Result,
    consume: (Result) async throws -> Void = { _ in }
) async throws {
    try await withThrowingTaskGroup(of: Result.self) { group in
        var next = 0
        func submit() {
            guard next < items.count else { return }
            let (position, item) = (next, items[next])
            next += 1
            group.addTask { try await operation(position, item) }
        }
        for _ in 0..<max(1, width) { submit() }
        while let result = try await group.next() {
            try await consume(result)
            submit()
        }
    }
}
