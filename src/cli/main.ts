// The `memraft` command.

import { Command, InvalidArgumentError, Option } from "commander";
import { MemraftError } from "../util/errors.js";
import { memraftVersion } from "../util/version.js";
import { clusterApply, status } from "./cluster.js";
import { type LocalOptions, local } from "./local.js";
import { increaseVerbosity, parsePort, parsePositiveInteger, parseSize } from "./options.js";
import { type StartOptions, start } from "./start.js";

export function buildProgram(): Command {
  const program = new Command("memraft")
    .description("A memcached-compatible cache/store that does not forget.")
    .version(memraftVersion, "-V, --version");

  program
    .command("start")
    .description("Start a node serving the memcached protocol.")
    .option("-p, --port <port>", "TCP port to listen on", parsePort, 11211)
    .option("-l, --listen <address>", "interface to listen on", "127.0.0.1")
    .option("-c, --max-conns <n>", "max simultaneous connections", parsePositiveInteger, 1024)
    .option(
      "-I, --max-item-size <size>",
      "max item size (bytes, or with k/m suffix)",
      parseSize,
      1024 * 1024,
    )
    .option(
      "-m, --memory-limit <mb>",
      "memory for items in megabytes; full means writes fail, nothing is evicted",
      parsePositiveInteger,
      64,
    )
    .option("-v, --verbose", "more logging (-v debug, -vv trace)", increaseVerbosity, 0)
    .option("-A, --enable-shutdown", "allow the shutdown command", false)
    .option("-F, --disable-flush-all", "refuse flush_all", false)
    .option("--data-dir <path>", "where the node keeps its data", "./data")
    .option("--config <file>", "cluster file (YAML): start as one node of that cluster")
    .option("--node <id>", "with --config: this node's id in the file")
    .option(
      "--in-memory",
      "keep data in memory only, like memcached (nothing survives a restart)",
      false,
    )
    .addOption(
      new Option(
        "--read-mode <mode>",
        "linearizable (default), lease (trusts bounded clock drift), or stale (any node answers from its own copy)",
      )
        .choices(["linearizable", "lease", "stale"])
        .default("linearizable"),
    )
    .action(async (options: StartOptions) => {
      await start(options);
    });

  program
    .command("local")
    .description("Start a cluster on this machine for trying things out (Ctrl-C stops it).")
    .option("--nodes <n>", "number of nodes", parsePositiveInteger, 3)
    .option("-p, --port <port>", "first client port; the others follow", parsePort, 11211)
    .option("--data-dir <path>", "where the nodes keep their data", "./data/local")
    .option("-v, --verbose", "more logging (-v debug, -vv trace)", increaseVerbosity, 0)
    .addOption(
      new Option("--read-mode <mode>", "linearizable (default), lease, or stale")
        .choices(["linearizable", "lease", "stale"])
        .default("linearizable"),
    )
    .action(async (options: LocalOptions) => {
      await local(options);
    });

  program
    .command("status")
    .description("Show the cluster: nodes, groups, leaders, lag, and a rebalance in progress.")
    .option("--server <host:port>", "the node to ask (default 127.0.0.1:11211)")
    .option("--config <file>", "ask the nodes of this cluster file, first that answers")
    .option("--json", "print the status as JSON", false)
    .action(async (options: { server?: string; config?: string; json: boolean }) => {
      await status(options);
    });

  const cluster = program.command("cluster").description("Change the cluster.");
  cluster
    .command("apply")
    .description(
      "Check a cluster file against the committed configuration and commit it; replicas then move to match it.",
    )
    .requiredOption("--config <file>", "the cluster file (YAML)")
    .option("--server <host:port>", "the node to send it to (default: the file's nodes in order)")
    .action(async (options: { config: string; server?: string }) => {
      await clusterApply(options);
    });

  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (MemraftError.is(error) || error instanceof InvalidArgumentError) {
      process.stderr.write(`memraft: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
