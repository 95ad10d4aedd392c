// swift-tools-version:6.1
// TwinStore: an encrypted, deduplicating image store. The folder layout is the architecture:
// one module per concept, each documented in its own `Module.swift`.
import PackageDescription

let package = Package(
    name: "TwinStore",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "twin", targets: ["TwinCLI"]),
        .library(name: "Convergent", targets: ["Convergent"]),
        .library(name: "BLS12381", targets: ["BLS12381"]),
        .library(name: "KPABE", targets: ["KPABE"]),
        .library(name: "TwinProtocol", targets: ["TwinProtocol"]),
        .library(name: "TwinStorage", targets: ["TwinStorage"]),
        // Adding a backend: implement `BlobBackend` or `MetadataStore`, and run these suites on it.
        .library(name: "TwinStorageConformance", targets: ["TwinStorageConformance"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.20.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]
        ),
        // One system call Swift's Glibc module does not declare (syncfs), for the blob store.
        .target(name: "CFileSync"),
        // The kernel's key retention service (add_key, keyctl), for the keyring's derived-key cache.
        .target(name: "CKernelKeyring"),
        // Thumbnails with libjpeg(-turbo) and libpng, behind one C function (their errors longjmp).
        .target(name: "CThumbnail", linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),
        // BLS12-381 F_p products in x86-64 assembly (mulx, adcx, adox), selected at run time.
        .target(name: "CFpKernel"),
        .target(name: "BinaryCoding"),
        .target(name: "Caching"),
        .target(
            name: "BrowserAccess",
            dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .target(
            name: "Convergent",
            dependencies: [
                "BinaryCoding",
                "Caching",
                "CZlib",
                "CZstd",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "BLS12381",
            dependencies: [
                "CFpKernel",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // Optimised in debug builds too: unoptimised field arithmetic is ~100× slower, which made
            // the KP-ABE and end-to-end tests (pairings in every decryption) take minutes.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(
            name: "KPABE",
            dependencies: [
                "BLS12381",
                "BinaryCoding",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "TwinStorage",
            dependencies: [
                "BinaryCoding",
                "CFileSync",
                "Convergent",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "TwinStoragePostgres",
            dependencies: [
                "TwinStorage", "Convergent",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TwinStorageS3",
            dependencies: [
                "TwinStorage", "Convergent",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The behaviours every storage backend must show, as Swift Testing suites driven by a factory.
        .target(
            name: "TwinStorageConformance",
            dependencies: ["TwinStorage", "Convergent"]
        ),
        .target(
            name: "TwinOPRF",
            dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto")]
        ),
        .testTarget(
            name: "TwinOPRFTests",
            dependencies: ["TwinOPRF", .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto")],
            resources: [.copy("Resources")]
        ),
        .target(
            name: "TwinProtocol",
            dependencies: ["BinaryCoding", "Convergent", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "TwinServer",
            dependencies: [
                "BrowserAccess", "Convergent", "KPABE", "TwinOPRF", "TwinProtocol", "TwinStorage", "TwinStoragePostgres", "TwinStorageS3",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TwinClient",
            dependencies: [
                "Caching", "Convergent", "KPABE", "TwinOPRF", "TwinProtocol", "CThumbnail", "CKernelKeyring",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ]
        ),
        .target(
            name: "TwinGallery",
            dependencies: [
                "BrowserAccess", "Caching", "TwinClient", "TwinProtocol", "Convergent",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .executableTarget(
            name: "TwinCLI",
            dependencies: [
                "Convergent",
                "BLS12381",
                "KPABE",
                "TwinServer",
                "TwinClient",
                "TwinGallery",
                "TwinStorage",
                "TwinProtocol",
                "TwinOPRF",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "BrowserAccessTests",
            dependencies: ["BrowserAccess", .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .testTarget(
            name: "CachingTests",
            dependencies: ["Caching"]
        ),
        .testTarget(
            name: "ConvergentTests",
            dependencies: ["Convergent", "BinaryCoding", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Resources")]
        ),
        .testTarget(
            name: "TwinStorageTests",
            dependencies: ["TwinStorage", "TwinStorageConformance", "Convergent", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "TwinStoragePostgresTests",
            dependencies: ["TwinStoragePostgres", "TwinStorageConformance", "TwinStorage", "Convergent"]
        ),
        .testTarget(
            name: "TwinStorageS3Tests",
            dependencies: [
                "TwinStorageS3", "TwinStorageConformance", "TwinStorage", "Convergent",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            resources: [.copy("Resources")]
        ),
        .testTarget(
            name: "TwinProtocolTests",
            dependencies: ["TwinProtocol", "Convergent"]
        ),
        .testTarget(
            name: "TwinServerTests",
            dependencies: [
                "TwinServer", "TwinClient", "TwinStorage", "TwinStoragePostgres", "TwinStorageS3", "TwinProtocol", "Convergent", "KPABE", "TwinStorageConformance",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "TwinClientTests",
            dependencies: ["TwinClient", "Convergent", "CZlib", "TestSupport"]
        ),
        .testTarget(
            name: "TwinCLITests",
            dependencies: ["TwinCLI", "TwinStorage", "Convergent"]
        ),
        // Helpers shared by test targets (not shipped).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "KPABETests",
            dependencies: ["KPABE", "BLS12381", "TestSupport"]
        ),
        .testTarget(
            name: "BLS12381Tests",
            dependencies: ["BLS12381", "CFpKernel", "TestSupport"],
            resources: [.copy("Resources")]
        ),
    ]
)
