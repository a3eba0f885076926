// `npm run bench [section...]`: runs every benchmark section in
// bench/sections (or the named ones) and prints their figures with a
// description of the machine, ready to paste into docs/BENCHMARKS.md.
// Each section compares memraft with a peer measured in the same run.

import { readdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface BenchSection {
  readonly name: string;
  readonly description: string;
  run(): Promise<void>;
}

const sectionsDir = join(dirname(fileURLToPath(import.meta.url)), "sections");

async function main(): Promise<void> {
  const wanted = new Set(process.argv.slice(2));
  const files = readdirSync(sectionsDir)
    .filter((file) => file.endsWith(".js"))
    .sort();
  const cpu = cpus();
  console.log(`# memraft benchmarks, ${new Date().toISOString()}`);
  console.log(
    `machine: ${cpu.length} x ${cpu[0]?.model ?? "unknown cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  );
  for (const file of files) {
    const section = ((await import(join(sectionsDir, file))) as { default: BenchSection }).default;
    if (wanted.size > 0 && !wanted.has(section.name)) continue;
    console.log(`\n## ${section.name}: ${section.description}\n`);
    await section.run();
  }
}

await main();
