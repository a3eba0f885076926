// CPU time of server processes, read from /proc, so a benchmark can report
// CPU per operation beside ops/s: on a shared machine the throughput moves
// with the neighbours' load, while the CPU a server spends per operation
// moves far less.

import { readFileSync } from "node:fs";

/** Kernel clock ticks per second for /proc times (USER_HZ; 100 on Linux). */
const ticksPerSecond = 100;

/** CPU seconds so far of process `pid`: all threads, or only its main thread. */
function cpuSeconds(pid: number, mainThreadOnly: boolean): number {
  const path = mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
  const stat = readFileSync(path, "latin1");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

export interface CpuSample {
  readonly all: number;
  readonly main: number;
}

/** CPU seconds of the processes together; undefined where /proc is not there. */
export function sampleCpu(pids: readonly number[]): CpuSample | undefined {
  try {
    let all = 0;
    let main = 0;
    for (const pid of pids) {
      all += cpuSeconds(pid, false);
      main += cpuSeconds(pid, true);
    }
    return { all, main };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Microseconds of CPU per operation between two samples. */
export function cpuMicrosPerOperation(
  before: CpuSample,
  after: CpuSample,
  operations: number,
): CpuSample {
  return {
    all: ((after.all - before.all) * 1e6) / operations,
    main: ((after.main - before.main) * 1e6) / operations,
  };
}
