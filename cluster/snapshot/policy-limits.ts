// The bounds of a snapshot policy, in a leaf module with no imports: the
// node checks a policy against them, and the dashboard's `:retain` names them
// in its usage errors without pulling in the node's code.

export const snapshotPolicyLimits = {
  everyEntriesMax: 10_000_000,
  retainEntriesMax: 10_000_000,
  retainBytesMin: 64 * 1024,
  retainBytesMax: 1024 ** 4,
  segmentBytesMin: 64 * 1024,
  segmentBytesMax: 256 * 1024 * 1024,
  intervalMsMinMax: 3_600_000,
} as const;
