// Runs CPU jobs (worker-protocol.ts) for the worker thread (job-worker.ts) or,
// in tests that want determinism, inline on the main thread. Owns the
// compaction sessions and the compaction filters it has imported.

import { pathToFileURL } from "node:url";
import {
  CompactionSession,
  type EntryFilter,
  InputCorruption,
  type StepResult,
} from "./compaction-merge.js";
import { buildFlushTable } from "./flush-build.js";
import type { BuiltTable } from "./sst-builder.js";
import type {
  CompactionFilterSpec,
  JobRequest,
  JobResponse,
  TableMessage,
} from "./worker-protocol.js";

export class JobHandler {
  private readonly sessions = new Map<number, CompactionSession>();

  async handle(request: JobRequest): Promise<JobResponse> {
    try {
      switch (request.type) {
        case "flush":
          return {
            type: "flushed",
            table: tableMessage(buildFlushTable(request.arena, request.table)),
          };
        case "compaction-begin": {
          const filter = await loadFilter(request.setup.filter);
          const session = new CompactionSession(request.setup, filter);
          this.sessions.set(request.session, session);
          return this.stepped(request.session, session.begin(request.chunks));
        }
        case "compaction-feed": {
          const session = this.sessions.get(request.session);
          if (session === undefined) throw new Error(`no compaction session ${request.session}`);
          return this.stepped(request.session, session.feed(request.run, request.chunk));
        }
        case "compaction-abort":
          this.sessions.delete(request.session);
          return { type: "aborted" };
      }
    } catch (error) {
      if (request.type !== "flush") this.sessions.delete(request.session);
      if (error instanceof InputCorruption) {
        return {
          type: "corruption",
          fileNumber: error.fileNumber,
          offset: error.offset,
          reason: error.reason,
        };
      }
      const failure = error instanceof Error ? error : new Error(String(error));
      return { type: "failure", message: failure.message, stack: failure.stack };
    }
  }

  private stepped(session: number, step: StepResult): JobResponse {
    if (step.need === -1) this.sessions.delete(session);
    return {
      type: "compaction-step",
      outputs: step.outputs.map(tableMessage),
      need: step.need,
      counters: step.counters,
    };
  }
}

function tableMessage(table: BuiltTable): TableMessage {
  return {
    bytes: table.bytes,
    smallest: table.smallest,
    largest: table.largest,
    entryCount: table.entryCount,
    deletionCount: table.deletionCount,
  };
}

const filterModules = new Map<string, Promise<Record<string, unknown>>>();

async function loadFilter(
  spec: CompactionFilterSpec | undefined,
): Promise<EntryFilter | undefined> {
  if (spec === undefined) return undefined;
  const url = spec.moduleUrl.startsWith("file:")
    ? spec.moduleUrl
    : pathToFileURL(spec.moduleUrl).href;
  let loading = filterModules.get(url);
  if (loading === undefined) {
    loading = import(url) as Promise<Record<string, unknown>>;
    filterModules.set(url, loading);
  }
  const factory = (await loading)[spec.exportName];
  if (typeof factory !== "function") {
    throw new Error(`compaction filter module ${url} has no function export ${spec.exportName}`);
  }
  const filter = (factory as (params: unknown) => unknown)(spec.params);
  if (typeof filter !== "function") {
    throw new Error(
      `compaction filter factory ${spec.exportName} of ${url} did not return a function`,
    );
  }
  return filter as EntryFilter;
}
