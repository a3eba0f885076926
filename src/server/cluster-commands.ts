// memraft's cluster administration over the client port, so that the
// `memraft` command (and a person with telnet) can reach any node the way
// clients do:
//
//   cluster status            -> CLUSTER <bytes>\r\n<JSON>\r\nEND\r\n
//   cluster apply <bytes>\r\n<cluster file>\r\n
//                             -> OK <committed version>\r\n
//                              | CLIENT_ERROR <every reason, separated by "; ">\r\n
//
// A server without a cluster behind it (--in-memory) answers ERROR, as
// memcached does for a command it does not know.

import type { ClusterCommand } from "../protocol/commands.js";
import type { OutputBuffer } from "../protocol/output-buffer.js";
import { replies } from "../protocol/replies.js";
import type { Outcome } from "./executor.js";

/** What the cluster layer offers the server for these commands. */
export interface ClusterAdmin {
  /** The cluster's state, as JSON text. */
  status(): Promise<string>;
  /** Validates a cluster file against the committed configuration and commits it. */
  apply(file: Buffer): Promise<{ readonly version: number } | { readonly problems: string[] }>;
}

export function executeCluster(
  admin: ClusterAdmin | undefined,
  command: ClusterCommand,
  out: OutputBuffer,
): Outcome {
  if (admin === undefined) {
    out.line(replies.error);
    return undefined;
  }
  if (command.kind === "cluster_status") {
    return admin.status().then((json) => {
      const bytes = Buffer.from(json, "utf8");
      out.text("CLUSTER ").decimal(bytes.length).crlf().bytes(bytes).crlf().line(replies.end);
    });
  }
  return admin.apply(command.file).then((result) => {
    if ("version" in result) out.text("OK ").decimal(result.version).crlf();
    else out.text("CLIENT_ERROR ").line(result.problems.join("; ").replace(/[\r\n]+/g, " "));
  });
}
