// The frames of a snapshot transfer over a node's direct links, validated in
// the style of cluster/protocol.ts: a malformed frame is an Invalid with a
// reason, counted and dropped (or answered with an abort), never trusted.
//
//   sender → receiver   snap-begin {transfer, meta, bytes, sha256}
//                       snap-chunk {transfer, offset, data (base64)}
//   receiver → sender   snap-ack   {transfer, offset, resend}   bytes received in order so far
//                       snap-done  {transfer}                    all bytes, checksum verified, fsynced
//   either way          snap-abort {transfer, reason}

import { Invalid } from '../protocol.js';
import type { SnapshotMeta } from './types.js';
import { isSha256, snapshotMeta } from './validate.js';

/** Largest snapshot a receiver accepts by default: far above a lab's state.db, small enough for any disk it runs on. */
export const snapshotBytesMax = 1024 * 1024 * 1024;
/** Largest chunk a frame may carry (decoded); senders use `chunkBytesDefault`. */
export const chunkBytesMax = 1024 * 1024;
export const chunkBytesDefault = 256 * 1024;
/** Unacknowledged chunks a sender keeps in flight by default: 1 MiB, well under a peer link's 8 MiB outbox. */
export const windowChunksDefault = 4;
export const windowChunksMax = 32;
const reasonCharsMax = 500;
const base64CharsMax = Math.ceil(chunkBytesMax / 3) * 4;

export type SnapshotFrame =
  | { readonly type: 'snap-begin'; readonly transfer: string; readonly meta: SnapshotMeta; readonly bytes: number; readonly sha256: string }
  | { readonly type: 'snap-chunk'; readonly transfer: string; readonly offset: number; readonly data: string }
  | { readonly type: 'snap-ack'; readonly transfer: string; readonly offset: number; readonly resend: boolean }
  | { readonly type: 'snap-done'; readonly transfer: string }
  | { readonly type: 'snap-abort'; readonly transfer: string; readonly reason: string };

export const snapshotFrameTypes: readonly string[] = ['snap-begin', 'snap-chunk', 'snap-ack', 'snap-done', 'snap-abort'];

/** True for a value that claims to be a snapshot frame (its type), before it is checked. */
export function isSnapshotFrameType(value: unknown): boolean {
  return typeof value === 'object' && value !== null && snapshotFrameTypes.includes((value as { type?: unknown }).type as string);
}

function fail(path: string, expected: string): never {
  throw new Invalid(`${path}: expected ${expected}`);
}

const transferId = (v: unknown): string => (typeof v === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(v) ? v : fail('transfer', 'a transfer id of 1 to 64 letters, digits or -'));
const offset = (v: unknown, p: string): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= snapshotBytesMax ? v : fail(p, `a byte offset from 0 to ${snapshotBytesMax}`));

/** A checked snapshot frame, or Invalid saying what is wrong. */
export function parseSnapshotFrame(value: unknown): SnapshotFrame | Invalid {
  try {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('frame', 'a snapshot frame');
    const v = value as Record<string, unknown>;
    const transfer = transferId(v.transfer);
    switch (v.type) {
      case 'snap-begin': {
        const bytes = offset(v.bytes, 'bytes');
        if (bytes < 1) fail('bytes', 'a snapshot of at least 1 byte');
        if (!isSha256(v.sha256)) fail('sha256', '64 lowercase hex digits');
        return { type: 'snap-begin', transfer, meta: snapshotMeta(v.meta, 'meta'), bytes, sha256: v.sha256 };
      }
      case 'snap-chunk': {
        const data = v.data;
        if (typeof data !== 'string' || data.length === 0 || data.length > base64CharsMax || data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
          fail('data', `base64 of 1 to ${chunkBytesMax} bytes`);
        }
        return { type: 'snap-chunk', transfer, offset: offset(v.offset, 'offset'), data };
      }
      case 'snap-ack':
        if (typeof v.resend !== 'boolean') fail('resend', 'a boolean');
        return { type: 'snap-ack', transfer, offset: offset(v.offset, 'offset'), resend: v.resend };
      case 'snap-done':
        return { type: 'snap-done', transfer };
      case 'snap-abort':
        if (typeof v.reason !== 'string' || v.reason.length > reasonCharsMax) fail('reason', `a string of at most ${reasonCharsMax} characters`);
        return { type: 'snap-abort', transfer, reason: v.reason };
      default:
        return fail('type', snapshotFrameTypes.join(' | '));
    }
  } catch (error) {
    if (error instanceof Invalid) return error;
    throw error;
  }
}
