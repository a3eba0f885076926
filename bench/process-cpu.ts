// CPU time of server processes, read from /proc, so a benchmark can report
// CPU per operation beside ops/s: on a shared machine the throughput moves
// with the neighbours' load, while the CPU a server spends per operation
// moves far less.

import { readFileSync } from "node:fs";

/** Kernel clock ticks per second for /proc times (USER_HZ; 100 on Linux). */
const ticksPerSecond = 100;

/** The fields of a /proc stat file after the command name (in parentheses, it may hold spaces). */
function statFields(path: string): string[] {
  const stat = readFileSync(path, "latin1");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU seconds so far of process `pid`: all threads, or only its main thread. */
function cpuSeconds(pid: number, mainThreadOnly: boolean): number {
  const fields = statFields(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`);
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/**
 * CPU seconds of this process's children that have exited and been reaped
 * (cutime + cstime): the difference across one run of a load generator is
 * what the load generator itself spent, since it is the only child that
 * exits meanwhile. Undefined where /proc is not there.
 */
export function reapedChildrenCpuSeconds(): number | undefined {
  try {
    const fields = statFields("/proc/self/stat");
    return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
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
