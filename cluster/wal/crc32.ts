// CRC-32C (Castagnoli), the checksum etcd's WAL, ext4 and iSCSI use, computed
// with one 256-entry table. node:zlib only gained crc32 (and not the C
// variant) after Node 20, so it lives here.

const polynomialReversed = 0x82f63b78;

const table = buildTable();

function buildTable(): Uint32Array {
  const out = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomialReversed : c >>> 1;
    out[n] = c >>> 0;
  }
  return out;
}

/**
 * The CRC-32C of `bytes`. Pass a previous result as `previous` to continue it:
 * crc32c(b, crc32c(a)) equals the CRC of a followed by b, which is how a record
 * is chained to the one before it.
 */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
