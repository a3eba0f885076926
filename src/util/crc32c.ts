// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every
// memraft file format. Slice-by-8 tables: eight bytes per step.
//
// Stored checksums are masked as in LevelDB (util/crc32c.h): computing the
// CRC of a string that itself contains CRCs is a known weak spot, so what is
// stored is rotated and offset.

const polynomial = 0x82f63b78;
const tables: Uint32Array[] = [];

for (let t = 0; t < 8; t++) tables.push(new Uint32Array(256));
for (let n = 0; n < 256; n++) {
  let crc = n;
  for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ polynomial : crc >>> 1;
  tables[0]![n] = crc >>> 0;
}
for (let n = 0; n < 256; n++) {
  let crc = tables[0]![n]!;
  for (let t = 1; t < 8; t++) {
    crc = (tables[0]![crc & 0xff]! ^ (crc >>> 8)) >>> 0;
    tables[t]![n] = crc;
  }
}
const [t0, t1, t2, t3, t4, t5, t6, t7] = tables as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

/**
 * CRC32C of bytes [start, end) of `data`, continuing from `crc` (the value
 * returned for the preceding bytes; 0 to start).
 */
export function crc32c(data: Uint8Array, start = 0, end = data.length, crc = 0): number {
  let c = ~crc >>> 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a =
      (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[data[i + 4]!]! ^
      t2[data[i + 5]!]! ^
      t1[data[i + 6]!]! ^
      t0[data[i + 7]!]!;
  }
  for (; i < end; i++) c = t0[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const maskDelta = 0xa282ead8;

/** The form a CRC is stored in (see the file comment). */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + maskDelta) >>> 0;
}

export function unmaskCrc(masked: number): number {
  const rotated = (masked - maskDelta) >>> 0;
  return ((rotated >>> 17) | (rotated << 15)) >>> 0;
}
