import Metrics

/// The service's own counters, beside Hummingbird's request metrics. Names follow Prometheus
/// conventions; the backend is whatever `MetricsSystem` was bootstrapped with (Prometheus in `twin serve`).
struct TwinMetrics: Sendable {
    let bytesReceived = Counter(label: "twin_chunk_bytes_received_total")
    let bytesSent = Counter(label: "twin_chunk_bytes_sent_total")
    let dedupChunkHits = Counter(label: "twin_dedup_chunk_hits_total")
    let dedupBytesSaved = Counter(label: "twin_dedup_bytes_saved_total")
    let proofPasses = Counter(label: "twin_pow_passes_total")
    let proofFailures = Counter(label: "twin_pow_failures_total")
    let tagMismatches = Counter(label: "twin_tag_mismatches_total")
    let storedBytes = Gauge(label: "twin_stored_bytes")
    let logicalBytes = Gauge(label: "twin_logical_bytes")
    let garbageCollected = Counter(label: "twin_gc_collected_chunks_total")
}
