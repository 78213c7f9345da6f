import CKernels
import Foundation

/// The documented bounds of every input (README "The data contract", each option's `--help`), in
/// one place: the CLI's `validate()`s, the folder loaders (`Dataset`, `LabelSet`, `FlowModel`)
/// and the tests check against these values.
public enum Limits {
    /// Largest |value| of x, μ, y in a data set (and of any state or parameter given on the
    /// command line): squares of such values summed over any number of rows stay finite in the
    /// normalisation (σ_x, σ_μ) and the standardisation.
    public static let maxMagnitude = 1e100
    /// Δt (dataset.json, labels.json, model.json).
    public static let dtRange = 1e-12...1e12
    /// Largest state dimension d the label stage supports (the label kernel's stack buffers).
    public static let maxStateDimension = Int(SDEFLOW_MAX_DIM)

    // MARK: Labels

    public static let labelCount = 1...1_000_000_000
    public static let neighbors = 1...1_000_000
    public static let odeSteps = 1...100_000
    /// ν_x, ν_μ in the units of x and μ; `LabelSetup` also needs ν ≥ `minRelativeBandwidth` σ.
    public static let bandwidth = 1e-100...1e100
    /// Below ν = this × σ (per coordinate) the kernel weight exp(−Δ²/(2ν²)) of any neighbour
    /// farther than 1e-4 σ is below e^−5000: it underflows to 0 and a label copies its own pair.
    public static let minRelativeBandwidth = 1e-6
    /// c, the displacement scale.
    public static let scale = 1e-6...1e6
    /// Largest c·|y − x| of any pair: the label kernel works in float32 on c·(y − x) and its
    /// squares (divided by the ODE's noise variance), which must stay finite.
    public static let maxScaledDisplacement = 1e15
    public static let odeStop = 0.0...10.0

    // MARK: Network and training

    public static let hiddenWidth = 1...65_536
    public static let hiddenLayers = 1...64
    public static let batchSize = 1...16_777_216
    /// Adam moves a weight by about the learning rate per step, and the weights are float32: a
    /// step below 2⁻²⁴ of a weight's size rounds away. The smallest initial weights of the widest
    /// network (U(±1/√65536), typically ≈ 0.002) lose any step below about 1e-10, so below this
    /// floor nothing is trained (`--learning-rate 1e-320` even became 0 in float32), however long.
    public static let learningRate = 1e-10...1.0
    public static let weightDecay = 0.0...1.0
    public static let epochs = 1...10_000_000
    public static let lrPatience = 0...10_000_000

    // MARK: Sampling and simulation

    public static let samples = 2...100_000_000
    public static let count = 1...1_000_000_000
    public static let steps = 0...10_000_000
    public static let pathsPerMu = 1...1_000_000_000
    /// Euler–Maruyama sub-steps per observation interval at most.
    public static let maxSubsteps = 1_000_000
    /// Observation intervals per path at most.
    public static let maxStepsPerPath = 1_000_000

    /// The ranks on this node (Open MPI's local size, 1 without mpirun).
    static var localRanks: Int {
        max(1, Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1)
    }

    /// Refuses `bytes` per rank when the ranks on this node (Open MPI's local size) would together
    /// need more than 90 % of the memory they may use (the node's, or its cgroup's limit), or one
    /// rank more than 90 % of what its `ulimit -v` leaves; `what` says what needs it, `fix` how to
    /// need less. `ranks`: how many of this node's ranks need `bytes` (default all; 1 for work done
    /// by rank 0 alone).
    public static func checkMemory(bytes: Int, what: String, fix: String, location: SDEFlowError.Location,
                                   ranks: Int? = nil) throws {
        let budget = MemoryBudget.current, all = localRanks
        let local = ranks.map { min(max($0, 1), all) } ?? all
        let gib = { (v: Double) in String(format: "%.3g", v / 1_073_741_824) }
        guard bytes >= 0, Double(bytes) * Double(local) <= budget.node * 0.9 else {
            let limit = budget.nodeLimitedBy.map { "the \(gib(budget.node)) GiB of \($0)" } ?? "the node's \(gib(budget.node)) GiB"
            throw SDEFlowError(location, "\(what) needs about \(gib(Double(bytes))) GiB per rank × \(local) rank(s) on this node, more than \(limit): \(fix)")
        }
        if let process = budget.process, Double(bytes) > process * 0.9 {
            throw SDEFlowError(location, "\(what) needs about \(gib(Double(bytes))) GiB per rank, more than the \(gib(process)) GiB its address-space limit (ulimit -v) leaves: \(fix)")
        }
    }

    /// Bytes one rank needs to train an MLP input → hidden → output with `batch` rows per step
    /// on `rows` labels (nil if the count overflows): about six parameter-sized float buffers
    /// (parameters, gradient, Adam's two moments, the best parameters, a copy), the batch's inputs
    /// and targets, the activations of one chunk of rows and the training data in Double and Float.
    public static func trainingBytes(input: Int, hidden: [Int], output: Int, batch: Int, rows: Int) -> Int? {
        let sizes = [input] + hidden + [output]
        var parameters = 0, activations = 0
        for l in 0..<sizes.count - 1 {
            guard let w = product(sizes[l] + 1, sizes[l + 1]) else { return nil }
            (parameters, activations) = (parameters + w, activations + sizes[l + 1])
        }
        activations += 2 * (sizes.dropFirst().max() ?? 0)
        let chunk = min(batch, 4096), width = input + output
        guard let p = product(parameters, 24), let a = product(chunk, activations, 4), let b = product(batch, width, 4),
              let r = product(rows, width, 24) else { return nil }
        let (sum, overflow) = [p, a, b, r].reduce((0, false)) { acc, v in
            let (s, o) = acc.0.addingReportingOverflow(v)
            return (s, acc.1 || o)
        }
        return overflow ? nil : sum
    }

    /// "[a, b]" with %g numbers, for messages.
    public static func text(_ r: ClosedRange<Double>) -> String {
        "[" + String(format: "%g", r.lowerBound) + ", " + String(format: "%g", r.upperBound) + "]"
    }

    /// `a · b · …` or nil if the product overflows (sizes before an allocation).
    public static func product(_ factors: Int...) -> Int? {
        var p = 1
        for f in factors {
            let (q, overflow) = p.multipliedReportingOverflow(by: f)
            if overflow || f < 0 { return nil }
            p = q
        }
        return p
    }
}
