/// `--quick`: a small, fast configuration for a first look (500 paths/μ, 10 000 labels,
/// K = 500, 200 ODE steps, patience 30, at most 300 epochs). Options the user set win.
public func applyQuickPreset(simulation sim: inout SimulationSettings, labels: inout LabelSettings, train: inout TrainSettings,
                      userSetPathsPerMu: Bool = false, userSetPatience: Bool = false) {
    if !userSetPathsPerMu { sim.pathsPerMu = 500 }
    labels.labels = 10_000; labels.neighbors = 500; labels.odeSteps = 200
    if !userSetPatience { train.patience = 30 }
    train.maxEpochs = min(train.maxEpochs, 300)
}
