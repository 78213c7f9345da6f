// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sdeflow-mpi",
    products: [
        .executable(name: "sdeflow-mpi", targets: ["sdeflow-mpi"]),
        .library(name: "SDEFlowCore", targets: ["SDEFlowCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Open MPI's C API; the shim header wraps the handles Swift cannot import.
        .systemLibrary(
            name: "CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // OpenBLAS's CBLAS interface (sgemm for the MLP).
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        // The hot loops in C: the label kernel (softmax over neighbours + ODE step) and the
        // MLP's element-wise kernels (tanh, its backward, Adam), each compiled for AVX-512 /
        // AVX2+FMA / baseline and picked at first call by CPU feature (dispatch.h).
        .target(name: "CKernels", linkerSettings: [.linkedLibrary("m")]),
        // Numerical core and the distributed stages over `Collective`: no MPI in here.
        .target(name: "SDEFlowCore", dependencies: ["CBLAS", "CKernels"]),
        // The only module that talks to MPI: `Collective` over Open MPI, and the job frame.
        .target(name: "SDEFlowMPI", dependencies: ["CMPI", "SDEFlowCore"]),
        // `sdeflow-mpi bench`: the workloads and the command, kept out of the library product.
        .target(
            name: "SDEFlowBench",
            dependencies: [
                "SDEFlowCore", "SDEFlowMPI", "CKernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "sdeflow-mpi",
            dependencies: [
                "SDEFlowCore", "SDEFlowMPI", "SDEFlowBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "SDEFlowCoreTests", dependencies: ["SDEFlowCore", "CKernels"]),
        .testTarget(name: "SDEFlowCLITests", dependencies: ["SDEFlowCore"]),
        // The bench command's pure parts (option lists, data, reference distances, FAISS output).
        .testTarget(name: "SDEFlowBenchTests", dependencies: ["SDEFlowBench", "SDEFlowCore"]),
    ]
)
