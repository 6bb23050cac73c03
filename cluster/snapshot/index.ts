// Snapshots of a node's SQLite state: taking, keeping, installing and
// streaming them (issue 14). See cluster/node/README.md, "Snapshots".
export { alignLog, installSnapshot, installSteps, recoverInstall, restoreSnapshot, type InstallOptions, type InstallStep, type Installed, type Recovered } from './install.js';
export { commitSnapshotFile, keepSnapshotsDefault, openSnapshots, pruneSnapshots, snapshotsDir, takeSnapshot, type OpenedSnapshots, type TakenSnapshot } from './store.js';
export { SnapshotError, type Membership, type SavedSnapshot, type SnapshotLog, type SnapshotMeta } from './types.js';
export { chunkBytesDefault, chunkBytesMax, isSnapshotFrameType, parseSnapshotFrame, snapshotBytesMax, windowChunksDefault, type SnapshotFrame } from './frames.js';
export { SnapshotReceiver, SnapshotSender, type ReceivedSnapshot, type ReceiverOptions, type SendResult, type SenderOptions } from './transfer.js';
