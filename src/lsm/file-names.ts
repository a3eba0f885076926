// Names of the files in an engine's directory:
//
//   CURRENT            names the live manifest (current-file.ts)
//   CURRENT.tmp        CURRENT being replaced (fs/durable-file.ts)
//   MANIFEST-000007    version edits (manifest.ts)
//   000012.wal         write-ahead log of one memtable
//   000013.sst         sorted table
//
// Numbers come from one counter per engine (VersionSet.newFileNumber).

export const currentFileName = "CURRENT";

export type FileKind = "current" | "temporary" | "manifest" | "wal" | "sst";

export interface ParsedName {
  readonly kind: FileKind;
  readonly number: number;
}

function padded(number: number): string {
  return String(number).padStart(6, "0");
}

export function sstName(number: number): string {
  return `${padded(number)}.sst`;
}

export function walName(number: number): string {
  return `${padded(number)}.wal`;
}

export function manifestName(number: number): string {
  return `MANIFEST-${padded(number)}`;
}

/** What a directory entry is, or undefined for a name the engine does not own. */
export function parseFileName(name: string): ParsedName | undefined {
  if (name === currentFileName) return { kind: "current", number: 0 };
  if (name.endsWith(".tmp")) return { kind: "temporary", number: 0 };
  let match = /^MANIFEST-(\d{6,})$/.exec(name);
  if (match !== null) return { kind: "manifest", number: Number(match[1]) };
  match = /^(\d{6,})\.(wal|sst)$/.exec(name);
  if (match !== null) return { kind: match[2] as "wal" | "sst", number: Number(match[1]) };
  return undefined;
}
