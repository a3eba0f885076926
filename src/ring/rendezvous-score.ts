// The rendezvous (highest random weight) score of a node for a group: a
// weighted exponential draw, so that among nodes scored for one group, node
// i scores highest with probability weight_i / sum(weights). This is Ceph's
// straw2 construction (ceph/ceph: src/crush/mapper.c):
//
//   u     = a uniform number in (0, 1), from fingerprint64(groupId, nodeId)
//   score = weight / -ln(u)      (-ln(u) / weight is Exp(weight), and the
//                                 smallest of those is the node's with
//                                 probability proportional to its weight)
//
// Every node must compute the same scores, so nothing here may depend on the
// machine. fingerprint64 is farmhash's platform-independent function, and
// -ln(u) comes from `negativeLn` below, which uses only + - * / on doubles:
// IEEE 754 rounds each of those exactly the same everywhere, whereas
// Math.log is only required to be approximately right (Ceph uses a table of
// fixed-point logarithms for the same reason). Changing any constant or the
// order of operations here moves replicas: test/ring pins the results.
//
// Pure: no I/O, no state beyond constant tables.

import farmhash from "farmhash";
import { assert } from "../util/assert.js";
import { groupIdMax, nodeIdBytesMax } from "./limits.js";

const ln2 = Math.LN2;
const sqrt2 = Math.SQRT2;
/** Bits of the fingerprint that make u: 2 * (fingerprint >> 12) + 1 is odd and below 2^53. */
const uniformBits = 53;

/** powersOfTwo[e] = 2^e exactly (doubling is exact). */
const powersOfTwo: number[] = [1];
for (let exponent = 1; exponent <= uniformBits; exponent++) {
  powersOfTwo.push(powersOfTwo[exponent - 1]! * 2);
}

/** 1/1, 1/3, 1/5, ... 1/23: the odd terms of the series for ln in negativeLn. */
const seriesCoefficients: number[] = [];
for (let term = 0; term < 12; term++) seriesCoefficients.push(1 / (2 * term + 1));

/**
 * -ln(x / 2^53) for an odd integer x in [1, 2^53): always > 0, and the same
 * bits on every machine. Accurate to a few units in the last place.
 */
export function negativeLn(x: number): number {
  assert(Number.isSafeInteger(x) && x >= 1 && x < powersOfTwo[uniformBits]!, () => `x ${x}`);
  // x = m * 2^e with m in [1, 2), both exact; then m is moved into
  // [sqrt(1/2), sqrt(2)] so that the series below converges fast.
  let exponent = bitLength(x) - 1;
  let m = x / powersOfTwo[exponent]!;
  if (m > sqrt2) {
    m /= 2;
    exponent += 1;
  }
  // ln(m) = 2 * (s + s^3/3 + s^5/5 + ...) with s = (m - 1) / (m + 1);
  // |s| < 0.1716, so twelve terms reach below 1e-19 of the result.
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let sum = seriesCoefficients[seriesCoefficients.length - 1]!;
  for (let term = seriesCoefficients.length - 2; term >= 0; term--) {
    sum = sum * s2 + seriesCoefficients[term]!;
  }
  const lnM = 2 * s * sum;
  return (uniformBits - exponent) * ln2 - lnM;
}

/** Bits needed to write the positive safe integer x. */
function bitLength(x: number): number {
  const high = Math.floor(x / powersOfTwo[32]!);
  return high > 0 ? 64 - Math.clz32(high) : 32 - Math.clz32(x);
}

/**
 * The bytes hashed for (groupId, node): the group id as u32 little-endian,
 * then the node id as UTF-8. Frozen, like everything here.
 */
export function scoreInput(groupId: number, nodeId: string): Buffer {
  assert(
    Number.isInteger(groupId) && groupId >= 0 && groupId <= groupIdMax,
    () => `group ${groupId}`,
  );
  const idBytes = Buffer.byteLength(nodeId, "utf8");
  assert(idBytes >= 1 && idBytes <= nodeIdBytesMax, () => `node id ${JSON.stringify(nodeId)}`);
  const input = Buffer.alloc(4 + idBytes);
  input.writeUInt32LE(groupId, 0);
  input.write(nodeId, 4, "utf8");
  return input;
}

/** The node's score for the group: higher wins. `weight` is positive and finite. */
export function rendezvousScore(groupId: number, nodeId: string, weight: number): number {
  assert(weight > 0 && Number.isFinite(weight), () => `weight ${weight}`);
  const fingerprint = farmhash.fingerprint64(scoreInput(groupId, nodeId));
  const x = 2 * Number(fingerprint >> 12n) + 1;
  return weight / negativeLn(x);
}
