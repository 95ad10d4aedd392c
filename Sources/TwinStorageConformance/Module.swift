/// # TwinStorageConformance
///
/// The behaviours every storage backend must show, as one suite per protocol, exported so that a
/// new backend's tests run exactly what the built-in ones run: `BlobBackendConformance` for
/// `BlobBackend`s and `MetadataStoreConformance` for `MetadataStore`s. Each case takes a factory
/// for a fresh, empty store and checks it with Swift Testing expectations; `Fixture` holds the
/// records they use.
public enum TwinStorageConformanceModule {}
