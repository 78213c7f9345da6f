import Foundation
import SDEFlowCore
import Testing

// Issue 12: the label and model folders are checked against their JSON before any array is read
// (or any network allocated), with the file named.

/// A small label set (N = 8, d = 1, dμ = 1) written to `dir`.
private func writeLabels(_ dir: String, n: Int = 8) throws {
    let settings = LabelSettings(labels: n, neighbors: 4, odeSteps: 5, nuX: 1, nuMu: 0.5)
    let info = LabelInfo(settings: settings, seed: 1, dt: 0.1, example: nil, observedMu: nil, muRange: nil, dataCount: 100,
                         normalisation: Normalisation(d: 1, dMu: 1, sigmaX: 1, sigmaMu: 1), meanEffectiveSampleSize: 5)
    let v = (0..<n).map { Double($0) / 4 - 1 }
    try LabelSet(d: 1, dMu: 1, x: v, mu: v, z: v, label: v, ess: v.map { $0 + 2 }, info: info).write(to: dir)
}

/// Rewrites the JSON file at `path` with `edit` applied to its top-level object.
private func editJSON(_ path: String, _ edit: (inout [String: Any]) -> Void) throws {
    var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    edit(&object)
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
}

/// Catches: a label folder whose arrays do not match labels.json (label (N, 2) beside x (N, 1),
/// x (N, 0), z with a row missing) or hold non-finite inputs, or whose labels are all non-finite,
/// reaching training; while one non-finite label row (training drops it) still loads.
@Test func labelSetShapesAndValuesAreChecked() throws {
    let dir = try validationTempDir("labels-check")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try writeLabels(dir)
    #expect(try LabelSet(directory: dir).count == 8)
    let cases: [(String, () throws -> Void, [String])] = [
        ("label.npy", { try NPY.write("\(dir)/label.npy", [Double](repeating: 0, count: 16), shape: [8, 2]) }, ["[8, 2]", "expected [8, 1]"]),
        ("x.npy", { try NPY.write("\(dir)/x.npy", [Double](), shape: [8, 0]) }, ["[8, 0]", "expected [8, 1]"]),
        ("z.npy", { try NPY.write("\(dir)/z.npy", [Double](repeating: 0, count: 7), shape: [7, 1]) }, ["[7, 1]", "N = 8"]),
        ("ess.npy", { try NPY.write("\(dir)/ess.npy", [Double](repeating: 0, count: 9), shape: [9]) }, ["[9]"]),
        ("mu.npy", { try NPY.write("\(dir)/mu.npy", [0, 0, 0, .nan, 0, 0, 0, 0] as [Double], shape: [8, 1]) }, ["row 3", "nan"]),
        ("z.npy", { try NPY.write("\(dir)/z.npy", [0, 0, 0, 0, 0, 0, 1e200, 0] as [Double], shape: [8, 1]) }, ["row 6", "1e100"]),
        ("label.npy", { try NPY.write("\(dir)/label.npy", [Double](repeating: .nan, count: 8), shape: [8, 1]) }, ["none of its 8 label rows is finite"]),
        ("labels.json", { try editJSON("\(dir)/labels.json") { $0["dt"] = -0.1 } }, ["dt = -0.1"]),
        ("labels.json", { try editJSON("\(dir)/labels.json") { var s = $0["settings"] as! [String: Any]; s["scale"] = 0; $0["settings"] = s } },
         ["settings.scale = 0.0"]),
        ("labels.json", { try editJSON("\(dir)/labels.json") { var s = $0["normalisation"] as! [String: Any]; s["d"] = 300; $0["normalisation"] = s } },
         ["normalisation.d = 300"]),
    ]
    for (file, spoil, words) in cases {
        try writeLabels(dir)
        try spoil()
        expectRefusal(["\(dir)/\(file)"] + words) { _ = try LabelSet(directory: dir) }
    }
    try writeLabels(dir)
    try NPY.write("\(dir)/label.npy", [0, 1, .infinity, 3, 4, 5, 6, 7] as [Double], shape: [8])  // (N,) for d = 1, one row non-finite
    let set = try LabelSet(directory: dir)
    #expect(set.count == 8 && set.label.filter { !$0.isFinite }.count == 1)
}

/// A small model (d = 1, dμ = 1, hidden [4, 3]) written to `dir`.
private func writeModel(_ dir: String) throws {
    let shape = MLPShape(input: 3, hidden: [4, 3], output: 1)
    let info = ModelInfo(shape: shape, d: 1, dMu: 1, scale: 3, dt: 0.1, example: nil, observedMu: nil, muRange: nil,
                         training: TrainSettings(hidden: [4, 3]), epochs: 1, bestEpoch: 1, bestValidationLoss: 0.5)
    try FlowModel(info: info, mlp: MLP(shape: shape, seed: 1), input: Standardizer(mean: [0, 0, 0], std: [1, 1, 1]),
                  output: Standardizer(mean: [0], std: [2])).write(to: dir)
}

/// Catches: a model with absurd widths (an allocation of gigabytes), a network that does not
/// match d and dμ or its own arrays, a NaN weight, c = 0, Δt ≤ 0, or a std ≤ 0 being loaded.
@Test func flowModelIsCheckedBeforeAllocating() throws {
    let dir = try validationTempDir("model-check")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try writeModel(dir)
    #expect(try FlowModel(directory: dir).mlp.parameters.count == 3 * 4 + 4 + 4 * 3 + 3 + 3 + 1)
    func shape(_ edit: @escaping (inout [String: Any]) -> Void) -> () throws -> Void {
        { try editJSON("\(dir)/model.json") { var s = $0["shape"] as! [String: Any]; edit(&s); $0["shape"] = s } }
    }
    let cases: [(String, () throws -> Void, [String])] = [
        ("model.json", shape { $0["hidden"] = [100_000_000, 3] }, ["hidden widths", "1…65536"]),
        ("model.json", shape { $0["hidden"] = [-4, 3] }, ["hidden widths"]),
        ("model.json", shape { $0["hidden"] = [65536, 65536, 65536, 65536, 65536, 65536] }, ["parameters", "GiB"]),
        ("model.json", shape { $0["input"] = 4 }, ["does not fit d = 1", "input 2d + dμ = 3"]),
        ("W0.npy", shape { $0["hidden"] = [5, 3] }, ["has shape [4, 3], model.json says [5, 3]"]),
        ("model.json", { try editJSON("\(dir)/model.json") { $0["scale"] = 0 } }, ["scale = 0.0"]),
        ("model.json", { try editJSON("\(dir)/model.json") {
            $0["outputPrior"] = ["dims": 2, "lower": [0, 0], "upper": [1, 1], "mean": [0, 1], "variance": [1, 0],
                                 "minSpread": [0.1], "maxSpread": [10]] } }, ["outputPrior", "1 × 6 finite coefficients"]),
        ("model.json", { try editJSON("\(dir)/model.json") { $0["dt"] = 0 } }, ["dt = 0.0", "Δt"]),
        ("model.json", { try editJSON("\(dir)/model.json") { $0["dt"] = -1 } }, ["dt = -1.0"]),
        ("model.json", { try editJSON("\(dir)/model.json") { $0["d"] = 0 } }, ["d = 0"]),
        ("W1.npy", { try NPY.write("\(dir)/W1.npy", (0..<12).map { $0 == 5 ? Double.nan : Double($0) }, shape: [3, 4]) },
         ["value 5 (row 1, column 1)", "nan", "finite"]),
        ("b2.npy", { try NPY.write("\(dir)/b2.npy", [1e300] as [Double], shape: [1]) }, ["inf as float32"]),
        ("output_std.npy", { try NPY.write("\(dir)/output_std.npy", [0.0] as [Double], shape: [1]) }, ["standard deviation > 0"]),
        ("input_mean.npy", { try NPY.write("\(dir)/input_mean.npy", [0, .nan, 0] as [Double], shape: [3]) }, ["value 1 is nan"]),
        ("input_std.npy", { try NPY.write("\(dir)/input_std.npy", [1, 1] as [Double], shape: [2]) }, ["has shape [2], model.json says [3]"]),
    ]
    for (file, spoil, words) in cases {
        try writeModel(dir)
        try spoil()
        expectRefusal(["\(dir)/\(file)"] + words) { _ = try FlowModel(directory: dir) }
    }
}

/// Catches: the memory estimate of training missing the parameters or overflowing.
@Test func trainingMemoryEstimate() {
    let small = Limits.trainingBytes(input: 3, hidden: [128, 128, 128], output: 1, batch: 1024, rows: 50_000)!
    #expect(small > 24 * 33_537 && small < 64 << 20)
    let wide = Limits.trainingBytes(input: 3, hidden: [65536, 65536, 65536], output: 1, batch: 1024, rows: 0)!
    #expect(wide > 24 * 2 * 65536 * 65536)
    #expect(Limits.trainingBytes(input: 3, hidden: [Int.max / 2], output: 1, batch: 1, rows: 0) == nil)
    #expect(throws: SDEFlowError.self) {
        try Limits.checkMemory(bytes: wide, what: "x", fix: "y", location: .option("--hidden"))
    }
}
