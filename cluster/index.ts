// The package's main entry (`import … from 'replica-lab'`). The real-process
// Cluster API joins this once the node processes exist; today it offers the
// consensus core and the simulator that tests and the CLI drive.
export * from './core/index.js';
export * as sim from './sim/index.js';
