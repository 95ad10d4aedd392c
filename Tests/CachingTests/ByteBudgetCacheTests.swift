import Caching
import Testing

@Suite("ByteBudgetCache: values within a byte budget, oldest out first")
struct ByteBudgetCacheTests {
    @Test("values leave in the order they came once the budget is passed; the bytes are the kept values' sizes")
    func evictsOldestFirst() {
        let cache = ByteBudgetCache<String, Int>(capacityBytes: 100)
        #expect(cache.append(1, bytes: 40, under: "a"))
        #expect(cache.append(2, bytes: 40, under: "b"))
        #expect(cache.count == 2 && cache.bytes == 80)
        #expect(cache.append(3, bytes: 30, under: "c"))
        #expect(cache.value(for: "a") == nil, "a went first: 110 bytes exceed 100")
        #expect(cache.value(for: "b") == 2 && cache.value(for: "c") == 3)
        #expect(cache.count == 2 && cache.bytes == 70)
        // One value as large as the budget pushes out everything else, and is itself kept.
        #expect(cache.append(4, bytes: 100, under: "d"))
        #expect(cache.count == 1 && cache.bytes == 100 && cache.value(for: "d") == 4)
    }

    @Test("a value larger than the budget is refused and drops nothing")
    func refusesOversized() {
        let cache = ByteBudgetCache<String, Int>(capacityBytes: 100)
        cache.append(1, bytes: 60, under: "a")
        #expect(!cache.append(2, bytes: 101, under: "b"))
        #expect(!cache.insertIfAbsent(3, bytes: 101, under: "c"))
        #expect(cache.count == 1 && cache.value(for: "a") == 1 && cache.value(for: "b") == nil)
    }

    @Test("append keeps several values per key, oldest first, each dropped in its own turn")
    func severalValuesPerKey() {
        let cache = ByteBudgetCache<String, Int>(capacityBytes: 30)
        cache.append(1, bytes: 10, under: "k")
        cache.append(2, bytes: 10, under: "other")
        cache.append(3, bytes: 10, under: "k")
        #expect(cache.values(for: "k") == [1, 3])
        cache.append(4, bytes: 10, under: "new")
        #expect(cache.values(for: "k") == [3], "the oldest value of k went, the later one stays")
        cache.append(5, bytes: 10, under: "new")
        cache.append(6, bytes: 10, under: "new")
        #expect(cache.values(for: "k").isEmpty && cache.values(for: "new") == [4, 5, 6])
        #expect(cache.count == 3 && cache.bytes == 30)
    }

    @Test("insertIfAbsent keeps the first value offered for a key")
    func firstValueWins() {
        let cache = ByteBudgetCache<String, Int>(capacityBytes: 100)
        #expect(cache.insertIfAbsent(1, bytes: 10, under: "k"))
        #expect(!cache.insertIfAbsent(2, bytes: 10, under: "k"))
        #expect(cache.values(for: "k") == [1] && cache.bytes == 10)
        // Once the value is dropped, the key takes a new one.
        cache.append(9, bytes: 95, under: "big")
        #expect(cache.value(for: "k") == nil)
        #expect(cache.insertIfAbsent(2, bytes: 5, under: "k"))
        #expect(cache.value(for: "k") == 2 && cache.bytes == 100)
    }

    @Test("after many evictions (the queue compacted) the accounting still holds")
    func longRunAccounting() {
        let cache = ByteBudgetCache<Int, Int>(capacityBytes: 1000)
        for i in 0..<10_000 { cache.append(i, bytes: 1 + i % 7, under: i % 37) }
        // The newest values whose sizes fit in the budget, exactly.
        var expected: [Int] = []
        var total = 0
        for i in stride(from: 9999, through: 0, by: -1) {
            guard total + 1 + i % 7 <= 1000 else { break }
            total += 1 + i % 7
            expected.append(i)
        }
        #expect(cache.count == expected.count && cache.bytes == total)
        for key in 0..<37 {
            #expect(cache.values(for: key) == expected.filter { $0 % 37 == key }.sorted())
        }
    }

    @Test("tasks appending at once keep the total within the budget")
    func concurrentUse() async {
        let cache = ByteBudgetCache<Int, Int>(capacityBytes: 500)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask { for i in 0..<1000 { cache.append(i, bytes: 3, under: task * 1000 + i) } }
            }
        }
        #expect(cache.bytes <= 500 && cache.bytes == 3 * cache.count && cache.count == 166)
    }
}
