// A node's client-facing settings, validated once at startup.

import { itemSizeMaxBytes, itemSizeMinBytes } from "../protocol/limits.js";
import { ConfigError } from "../util/errors.js";

export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  /** Simultaneous client connections (`-c`); more are refused as memcached does. */
  readonly maxConnections: number;
  /** Largest item, memcached's overhead included (`-I`). */
  readonly itemSizeMaxBytes: number;
  /** Memory budget of the in-memory engine (`-m`). */
  readonly memoryLimitBytes: number;
  /** `shutdown` is refused unless enabled (`-A`). */
  readonly shutdownEnabled: boolean;
  /** `flush_all` is refused when disabled (`-F`). */
  readonly flushEnabled: boolean;
  /** The version clients see; must look like 1.6.x (clients parse it). */
  readonly protocolVersion: string;
}

export const defaultSettings: ServerSettings = {
  host: "127.0.0.1",
  port: 11211,
  maxConnections: 1024,
  itemSizeMaxBytes: 1024 * 1024,
  memoryLimitBytes: 64 * 1024 * 1024,
  shutdownEnabled: false,
  flushEnabled: true,
  protocolVersion: "1.6.18",
};

export function validateSettings(settings: ServerSettings): ServerSettings {
  const { port, maxConnections, itemSizeMaxBytes: itemBytes, memoryLimitBytes } = settings;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`port must be an integer from 0 to 65535, got ${port}`, { port });
  }
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new ConfigError(`max connections must be at least 1, got ${maxConnections}`);
  }
  if (
    !Number.isInteger(itemBytes) ||
    itemBytes < itemSizeMinBytes ||
    itemBytes > itemSizeMaxBytes
  ) {
    throw new ConfigError(
      `max item size must be from ${itemSizeMinBytes} bytes to 1024m, got ${itemBytes}`,
    );
  }
  if (!Number.isInteger(memoryLimitBytes) || memoryLimitBytes < itemBytes) {
    throw new ConfigError(
      `memory limit (${memoryLimitBytes} bytes) must hold at least one item of the max item size (${itemBytes} bytes)`,
    );
  }
  if (!/^1\.6\.\d+$/.test(settings.protocolVersion)) {
    throw new ConfigError(`protocol version must look like 1.6.x, got ${settings.protocolVersion}`);
  }
  return settings;
}
