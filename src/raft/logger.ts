// The core logs through this interface: its lines are golden test output,
// so they carry no timestamps and are built only when someone listens.

export interface RaftLogger {
  info(line: string): void;
}

export const silentRaftLogger: RaftLogger = { info() {} };
