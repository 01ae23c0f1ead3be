/**
 * The flags of the tools that measure Parkway on a private redis-server (`redis-cost`,
 * `redis-instructions`): `--runs N`, `--rounds N` (where the tool takes rounds), `--redis-server PATH`,
 * `--json`.
 */
export interface CostFlags {
  readonly runs: number;
  /** Rounds of every shape; 1 for a tool without rounds. */
  readonly rounds: number;
  readonly server: string;
  readonly json: boolean;
}

/** Reads the flags in `argv`; a tool without rounds passes no `rounds` default and refuses the flag. */
export function readCostFlags(argv: readonly string[], defaults: { readonly runs: number; readonly rounds?: number }): CostFlags {
  let { runs } = defaults;
  let rounds = defaults.rounds ?? 1;
  let server = "redis-server";
  let json = false;
  const known = ["--runs N", ...(defaults.rounds === undefined ? [] : ["--rounds N"]), "--redis-server PATH", "--json"];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--runs") {
      runs = Number(argv[++i]);
      if (!Number.isInteger(runs) || runs < 1 || runs > 1_000_000) throw new Error("--runs takes an integer from 1 to 1,000,000");
    } else if (flag === "--rounds" && defaults.rounds !== undefined) {
      rounds = Number(argv[++i]);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw new Error("--rounds takes an integer from 1 to 100");
    } else if (flag === "--redis-server") {
      server = argv[++i] ?? "";
      if (server === "") throw new Error("--redis-server takes a path");
    } else if (flag === "--json") {
      json = true;
    } else {
      throw new Error(`unknown flag ${String(flag)} (flags: ${known.join(", ")})`);
    }
  }
  return { runs, rounds, server, json };
}
