// The terminal UI: Ink + React components that draw a cluster from its
// status() snapshots and events, and turn keys into Cluster API calls.
// It never starts a process: the CLI hands it a running cluster.
export { runDashboard, type RunDashboardOptions, type RunningDashboard } from './run-dashboard.js';
export { Dashboard, type DashboardProps } from './dashboard.js';
export type { ClusterController, WorkloadController, WorkloadView } from './controller.js';
