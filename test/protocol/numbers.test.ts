import test from "ava";
import { parseInt32, parseUint32, parseUint64 } from "../../src/protocol/numbers.js";

const parse = <T>(parser: (buf: Buffer, start: number, end: number) => T, text: string): T => {
  const buf = Buffer.from(text, "latin1");
  return parser(buf, 0, buf.length);
};

const int32Cases: [string, number | undefined][] = [
  ["0", 0],
  ["123", 123],
  ["-1", -1],
  ["+7", 7],
  ["007", 7],
  ["2147483647", 2147483647],
  ["2147483648", -2147483648],
  ["4294967296", 0],
  ["4294967297", 1],
  ["9223372036854775807", -1],
  ["9223372036854775808", undefined],
  ["-9223372036854775808", 0],
  ["-9223372036854775809", undefined],
  ["", undefined],
  ["-", undefined],
  ["abc", undefined],
  ["1.5", undefined],
  ["12a", undefined],
  ["\t5", 5],
  ["5\t", 5],
  ["5\r", 5],
];

for (const [text, expected] of int32Cases) {
  test(`int32 like memcached's safe_strtol: ${JSON.stringify(text)} -> ${expected}`, (t) => {
    t.is(parse(parseInt32, text), expected);
  });
}

const uint32Cases: [string, number | undefined][] = [
  ["0", 0],
  ["4294967295", 4294967295],
  ["4294967296", 0],
  ["4294967301", 5],
  ["18446744073709551615", 4294967295],
  ["18446744073709551616", undefined],
  ["-1", undefined],
  ["-0", 0],
  ["-9223372036854775809", 4294967295],
  ["x", undefined],
];

for (const [text, expected] of uint32Cases) {
  test(`uint32 like memcached's safe_strtoul: ${JSON.stringify(text)} -> ${expected}`, (t) => {
    t.is(parse(parseUint32, text), expected);
  });
}

const uint64Cases: [string, bigint | undefined][] = [
  ["0", 0n],
  ["18446744073709551615", 18446744073709551615n],
  ["18446744073709551616", undefined],
  ["-1", undefined],
  ["-0", 0n],
  ["+5", 5n],
  [" 5", 5n],
  ["5 ", 5n],
  ["  ", undefined],
  ["12\u00003", 12n],
];

for (const [text, expected] of uint64Cases) {
  test(`uint64 like memcached's safe_strtoull: ${JSON.stringify(text)} -> ${expected}`, (t) => {
    t.is(parse(parseUint64, text), expected);
  });
}
