/// # Caching
///
/// Results a process made once and may be asked for again, kept in memory within a budget of bytes:
/// sealed chunks and encoded files in an upload run, thumbnails made for upload, and the gallery's
/// decrypted thumbnails. One store (`ByteBudgetCache`) serves them all, so the bookkeeping of sizes
/// and eviction order is written, and tested, once.
public enum CachingModule {}
