// CRC-32C (Castagnoli), the checksum etcd's WAL, ext4 and iSCSI use. node:zlib
// only gained crc32 (and not the C variant) after Node 20, so it lives here.
// Every record is checksummed on every node that writes it, so it goes eight
// bytes a step ("slicing-by-8": eight 256-entry tables, table k giving the CRC
// of a byte followed by k zero bytes), about three times faster than the
// byte-at-a-time loop it replaced, which still finishes the last few bytes.

const polynomialReversed = 0x82f63b78;

/** tables[k * 256 + n]: the CRC contribution of byte n with k zero bytes after it. */
const tables = buildTables();

function buildTables(): Uint32Array {
  const out = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomialReversed : c >>> 1;
    out[n] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const before = out[(k - 1) * 256 + n]!;
      out[k * 256 + n] = (out[before & 0xff]! ^ (before >>> 8)) >>> 0;
    }
  }
  return out;
}

/**
 * The CRC-32C of `bytes`. Pass a previous result as `previous` to continue it:
 * crc32c(b, crc32c(a)) equals the CRC of a followed by b, which is how a record
 * is chained to the one before it.
 */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  const t = tables;
  let crc = ~previous >>> 0;
  let i = 0;
  for (const end = bytes.length - 8; i <= end; i += 8) {
    const low = (crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    crc =
      t[7 * 256 + (low & 0xff)]! ^
      t[6 * 256 + ((low >>> 8) & 0xff)]! ^
      t[5 * 256 + ((low >>> 16) & 0xff)]! ^
      t[4 * 256 + (low >>> 24)]! ^
      t[3 * 256 + bytes[i + 4]!]! ^
      t[2 * 256 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < bytes.length; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
