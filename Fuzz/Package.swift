// swift-tools-version:6.1
// libFuzzer targets for every decoder of untrusted bytes, apart from the main package so that its
// sanitizer build never touches the project's own. One binary; TWIN_FUZZ_TARGET picks the decoder.
// Build and run: Fuzz/run.sh (CI runs every target for a bounded time).
import PackageDescription

let package = Package(
    name: "TwinFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "TwinStore", path: "..")],
    targets: [
        .executableTarget(
            name: "TwinFuzz",
            dependencies: [
                .product(name: "Convergent", package: "TwinStore"),
                .product(name: "KPABE", package: "TwinStore"),
                .product(name: "BLS12381", package: "TwinStore"),
                .product(name: "TwinProtocol", package: "TwinStore"),
            ]
        ),
    ]
)
