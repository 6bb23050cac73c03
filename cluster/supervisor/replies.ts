// The results a node replies with, checked where they arrive: a reply that
// does not have the shape its request expects is a 'malformed-reply' error,
// never a value read with casts.

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** An execute's result. */
export function executeResult(result: Record<string, unknown> | null): { index: number; term: number } | null {
  if (result === null || !isCount(result['index']) || !isCount(result['term'])) return null;
  return { index: result['index'], term: result['term'] };
}

/** A query's result. */
export function queryResult(result: Record<string, unknown> | null): { columns: string[]; rows: unknown[][]; truncated: boolean; index: number } | null {
  if (result === null) return null;
  const { columns, rows, truncated, index } = result;
  if (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string')) return null;
  if (!Array.isArray(rows) || !rows.every((row) => Array.isArray(row))) return null;
  if (typeof truncated !== 'boolean' || !isCount(index)) return null;
  return { columns: columns as string[], rows: rows as unknown[][], truncated, index };
}

/** A snapshot's result (Cluster.snapshot). */
export function snapshotResult(result: Record<string, unknown> | null): { index: number; term: number; bytes: number; durationMs: number; walBytesRetained: number } | null {
  if (result === null || !isCount(result['index']) || !isCount(result['term']) || !isCount(result['bytes']) || !isCount(result['walBytesRetained'])) return null;
  const durationMs = result['durationMs'];
  if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0) return null;
  return { index: result['index'], term: result['term'], bytes: result['bytes'], durationMs, walBytesRetained: result['walBytesRetained'] };
}

/** A checksum's result. */
export function checksumResult(result: Record<string, unknown> | null): { index: number; value: string } | null {
  if (result === null || !isCount(result['index']) || typeof result['value'] !== 'string') return null;
  return { index: result['index'], value: result['value'] };
}
