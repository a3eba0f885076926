// Counts ava's TAP output and prints the plain summary line CI reads:
// "N passed, N failed". A skipped test is neither; a TODO is not a failure.
// Usage: node .ci/tap-summary.mjs <tap-file> <exit-status-of-the-test-run>
// A run that failed without reporting a failing test (a build error, a
// crash) counts as one failure, so it cannot pass unnoticed.
import { readFileSync } from "node:fs";

const [tapFile, statusText = "0"] = process.argv.slice(2);
const runStatus = Number(statusText);
let passed = 0;
let failed = 0;
let skipped = 0;

for (const line of readFileSync(tapFile, "utf8").split("\n")) {
  const result = /^(not ok|ok)\b.*?(#\s*(SKIP|TODO)\b.*)?$/i.exec(line);
  if (result === null) continue;
  const directive = result[3]?.toUpperCase();
  if (directive === "SKIP") skipped++;
  else if (directive === "TODO") continue;
  else if (result[1] === "ok") passed++;
  else failed++;
}

if (runStatus !== 0 && failed === 0) {
  process.stdout.write(
    `the test run exited with status ${runStatus} without reporting a failed test\n`,
  );
  failed = 1;
}
if (skipped > 0) process.stdout.write(`${skipped} skipped\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
