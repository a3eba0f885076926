// The simulated clients' state machine: registers by key with write and
// compare-and-set. Commands travel as JSON in entry data; results go back to
// the proposing client through the node that proposed.

export type Command =
  | {
      readonly client: number;
      readonly seq: number;
      readonly kind: "write";
      readonly key: string;
      readonly value: number;
    }
  | {
      readonly client: number;
      readonly seq: number;
      readonly kind: "cas";
      readonly key: string;
      readonly from: number;
      readonly to: number;
    };

export function encodeCommand(command: Command): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(command));
}

export function decodeCommand(data: Uint8Array): Command {
  return JSON.parse(new TextDecoder().decode(data)) as Command;
}

export class RegisterMachine {
  values = new Map<string, number>();

  /** Applies `command`; whether it took effect. */
  apply(command: Command): boolean {
    if (command.kind === "write") {
      this.values.set(command.key, command.value);
      return true;
    }
    if (this.values.get(command.key) !== command.from) return false;
    this.values.set(command.key, command.to);
    return true;
  }

  read(key: string): number | null {
    return this.values.get(key) ?? null;
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.values]));
  }

  static fromSnapshot(data: Uint8Array): RegisterMachine {
    const machine = new RegisterMachine();
    if (data.length > 0)
      machine.values = new Map(JSON.parse(new TextDecoder().decode(data)) as [string, number][]);
    return machine;
  }
}
