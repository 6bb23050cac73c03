// Length-prefixed frames: whatever way a stream is cut into chunks, the
// decoder gives back the values in order; an oversized length or a body that
// is not JSON is an error (the connection cannot be resynced), never a crash.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FrameError } from '../../cluster/wire/frames.js';

describe('frames', () => {
  it('decodes any sequence of values from any cutting of the stream', () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.dictionary(fc.string({ maxLength: 5 }), fc.string()), fc.array(fc.string(), { maxLength: 20 }));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }), (values, cuts) => {
        const stream = Buffer.concat(values.map((v) => encodeFrame(v)));
        const decoder = new FrameDecoder();
        const out: unknown[] = [];
        let offset = 0;
        for (let i = 0; offset < stream.length; i++) {
          const size = cuts[i % cuts.length]!;
          out.push(...decoder.push(stream.subarray(offset, offset + size)));
          offset += size;
        }
        expect(out).toEqual(values);
      }),
    );
  });

  it('counts UTF-8 bytes, not characters', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(encodeFrame({ v: 'ünïcödé 🚀' }))).toEqual([{ v: 'ünïcödé 🚀' }]);
  });

  it('holds the first frame alone to its own limit, even when larger frames follow in the same chunk', () => {
    const hello = encodeFrame({ type: 'hello' });
    const big = encodeFrame({ pad: 'x'.repeat(10_000) });
    expect(new FrameDecoder(1_000_000, 64).push(Buffer.concat([hello, big, big]))).toHaveLength(3);
    expect(() => new FrameDecoder(1_000_000, 64).push(Buffer.concat([big, hello]))).toThrow(/over the 64-byte limit/);
  });

  it('refuses a length over the limit before buffering it, and a body that is not JSON', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1_000_001, 0);
    expect(() => new FrameDecoder(1_000_000).push(header)).toThrow(FrameError);
    const body = Buffer.from('{nope');
    const frame = Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
    expect(() => new FrameDecoder().push(frame)).toThrow(/not JSON/);
  });
});
