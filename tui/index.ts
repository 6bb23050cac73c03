// The terminal UI: Ink + React components that draw a cluster from its
// status() snapshots and events, and turn keys into Cluster API calls.
// It never starts a process: the CLI hands it a running cluster.
export { runDashboard, runLabDashboard, runReplayLab, type RunDashboardOptions, type RunLabDashboardOptions, type RunReplayLabOptions, type RunningDashboard } from './run-dashboard.js';
export { ReplayLabView, type ReplayController, type ReplayLabViewProps } from './replay-lab.js';
export { LabDashboard, type LabDashboardProps } from './lab-dashboard.js';
export type { LabController } from './lab-controller.js';
export { Dashboard, type DashboardProps, type LabView } from './dashboard.js';
export type { ClusterController, WorkloadController, WorkloadView } from './controller.js';
