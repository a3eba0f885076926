// How `memraft status` shows the cluster: plain text tables an operator can
// read at a glance, and a progress bar for a rebalance in flight.

import type { ClusterStatus } from "../cluster/cluster-status.js";
import { groupName } from "../cluster/group-ids.js";

const barWidth = 30;

export function renderStatus(status: ClusterStatus, nowMs: number): string {
  const lines: string[] = [];
  const { config } = status;
  lines.push(
    `cluster ${config.name}: configuration ${config.version} (${config.digest}), ${config.groups} groups, replication factor ${config.replicationFactor}  [seen from ${status.node}]`,
    "",
  );
  lines.push(
    ...table(
      ["node", "client", "peer", "weight", "state", "replicas", "leaders", "file"],
      status.nodes.map((node) => [
        node.id,
        node.client,
        node.peer,
        String(node.weight),
        !node.reachable ? "DOWN" : node.draining ? "draining" : "up",
        String(node.replicas),
        String(node.leaders),
        node.fileMatchesCommitted === null ? "?" : node.fileMatchesCommitted ? "same" : "DIFFERS",
      ]),
    ),
    "",
  );
  lines.push(
    ...table(
      ["group", "slots", "leader", "voters", "learners", "max lag", "state"],
      status.groups.map((group) => {
        const lags = Object.values(group.lag);
        return [
          group.id,
          group.slots.join(",") || "-",
          group.leader ?? "NONE",
          group.voters.join(","),
          group.learners.join(",") || "-",
          lags.length === 0 ? "?" : String(Math.max(...lags)),
          group.leader === null ? "-" : group.quiet ? "quiet" : "active",
        ];
      }),
    ),
    "",
  );
  const rebalance = status.rebalance;
  if (rebalance !== null) {
    const total = Math.max(rebalance.planned, rebalance.done);
    const filled = total === 0 ? barWidth : Math.round((barWidth * rebalance.done) / total);
    const bar = `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`;
    const seconds = Math.round(((rebalance.finishedAtMs ?? nowMs) - rebalance.startedAtMs) / 1000);
    const state = rebalance.finishedAtMs === null ? "in progress" : "done";
    lines.push(
      `rebalance to configuration ${rebalance.configVersion}: ${bar} ${rebalance.done}/${total} moves, ${state}, ${seconds} s`,
    );
    for (const move of rebalance.inFlight) {
      const what =
        move.kind === "move"
          ? `${move.from} -> ${move.to}`
          : move.kind === "add"
            ? `+ ${move.to}`
            : `- ${move.from}`;
      const waiting = move.waiting === undefined ? "" : ` (${move.waiting})`;
      lines.push(`  group ${groupName(move.groupId)}: ${what}, ${move.phase}${waiting}`);
    }
  }
  if (status.warnings.length > 0) {
    lines.push("", "warnings:", ...status.warnings.map((warning) => `  ${warning}`));
  }
  return `${lines.join("\n")}\n`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const format = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd();
  return [format(header), ...rows.map(format)];
}
