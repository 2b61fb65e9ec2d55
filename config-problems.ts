/**
 * Problem reporting for the stack's configuration: each problem names its full key, what is
 * wrong and the command that fixes it (the `fix:` lines), with the nearest known key for a
 * key nobody reads. The schema and the secrets are `config.ts`'s; this module only words.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type OriginalsApp, originalOf, sourceOf } from "./components/originals";

/** The config namespace of the program's own keys (`tributary:alma`). */
export const PROJECT = "tributary";

/** A declared secret by full key or by name in the `tributary` namespace, for "did you mean" and its `--secret` fix. */
export type SecretLookup = (key: string) => { key: string; description: string } | undefined;

export interface ConfigProblem {
  /** Full config key including the path inside a structured value: `tributary:alma.function.memoryMb`. */
  key: string;
  message: string;
  /** The command that fixes it. */
  fix: string;
}

export class ConfigError extends pulumi.RunError {
  constructor(
    readonly stack: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `Invalid configuration for stack "${stack}":\n${problems.map((p) => `  - ${p.key}: ${p.message}\n    fix: ${p.fix}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

export function setCommand(stack: string, key: string, opts: { secret?: boolean; path?: boolean } = {}): string {
  const flags = [opts.secret ? "--secret" : "", opts.path ? "--path" : ""].filter(Boolean).join(" ");
  const quoted = opts.path ? `'${key}'` : key;
  return `pulumi config set ${flags ? `${flags} ` : ""}${quoted} <value> --stack ${stack}`;
}

/**
 * The command that stores a declared secret (full key, `namespace:name`) encrypted. Every fix
 * that sets a secret uses it: without `--secret`, Pulumi writes the value in clear.
 */
export function secretSetCommand(stack: string, key: string): string {
  return setCommand(stack, key, { secret: true });
}

/** Edit distance between two keys, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The known key closest to `key`. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const candidate of known) if (best === undefined || distance(key, candidate) < distance(key, best)) best = candidate;
  return best;
}

/** The keys a strict object accepts at `path` inside the schema, through optional, default and array wrappers. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: any = schema;
  const unwrap = () => {
    while (["optional", "default", "prefault", "nullable"].includes(node?._zod?.def?.type)) node = node._zod.def.innerType;
  };
  unwrap();
  for (const segment of path) {
    const def = node?._zod?.def;
    if (def?.type === "object") node = def.shape[String(segment)];
    else if (def?.type === "array") node = def.element;
    else return [];
    unwrap();
  }
  return node?._zod?.def?.type === "object" ? Object.keys(node._zod.def.shape) : [];
}

/** How to get rid of an unknown key, naming the known key it most likely meant. */
export function unknownKeyProblem(
  stack: string,
  key: string,
  name: string,
  known: readonly string[],
  nested: boolean,
  secretNamed: SecretLookup,
): ConfigProblem {
  const near = nearestKey(name, known);
  // A secret's value must be set again with --secret, or Pulumi stores it in clear.
  const secret = !nested && near !== undefined ? secretNamed(near) : undefined;
  const setNear = secret ? secretSetCommand(stack, secret.key) : `pulumi config set ${PROJECT}:${near} <value> --stack ${stack}`;
  return {
    key,
    message: `unknown key; remove it${near ? `, or rename it to the known ${secret ? `secret (${secret.description})` : "key"} "${near}"` : ""} (nothing reads "${name}")`,
    fix: nested
      ? `pulumi config rm --path '${key}' --stack ${stack}, then set the right key with pulumi config set --path`
      : `pulumi config rm ${key} --stack ${stack}${near ? `, then ${setNear}` : ""}`,
  };
}

/** The problems for a zod error, each keyed by its full config key. */
export function problemsOf(stack: string, error: z.ZodError, schema: z.ZodType, secretNamed: SecretLookup): ConfigProblem[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, issue.path);
      return issue.keys.map((name) => unknownKeyProblem(stack, `${PROJECT}:${[...path, name].join(".")}`, name, known, true, secretNamed));
    }
    const key = `${PROJECT}:${path.join(".")}`;
    const nested = path.length > 1;
    return [{ key, message: issue.message, fix: setCommand(stack, key, { path: nested }) }];
  });
}

/** A setting of an original resource, with where it came from, for messages. */
export function originalValue(app: OriginalsApp, type: string, name: string, setting: string): string {
  const found = originalOf(type, name)?.resource;
  const original = found?.settings[setting] ?? found?.attachments?.[setting];
  const value = original?.kept ? "kept as its owner set it" : original?.value === null ? "none" : JSON.stringify(original?.value);
  return `${value} (${sourceOf(app, original)})`;
}

/** A key of an app's block that needs another, or is given with another: what an app's `dependencies` rule reports. */
export interface Dependency {
  /** The key inside the `tributary` namespace: `lessons.atlas.appId`. */
  key: string;
  message: string;
}

/** A key that would change a setting of an adopted resource: what an app's `conflicts` rule reports. */
export interface AdoptionConflict extends Dependency {
  /** The hardening key whose opt-in makes the change deliberate, when there is one. */
  optIn?: string;
}

/** A dependency as a problem: the fix sets the missing key. */
export function dependencyProblem(stack: string, { key, message }: Dependency): ConfigProblem {
  const full = `${PROJECT}:${key}`;
  return { key: full, message, fix: setCommand(stack, full, { path: true }) };
}

/** An adoption conflict as a problem: the fix removes the key, or opts in to the improvement after the cutover. */
export function conflictProblem(stack: string, { key, message, optIn }: AdoptionConflict): ConfigProblem {
  return {
    key: `${PROJECT}:${key}`,
    message,
    fix: `pulumi config rm --path '${PROJECT}:${key}' --stack ${stack}${optIn ? `, or after the cutover opt in with pulumi config set --path '${PROJECT}:${optIn}' true --stack ${stack}` : ""}`,
  };
}

/** What an app's settings module says about a block beyond its schema. */
export interface AppRules<Settings> {
  /** Whether the block adopts anything that runs today (its region must then be the original's). */
  adopts(settings: Settings): boolean;
  /** Keys that are given together, or one needs the other. */
  dependencies?(settings: Settings): Dependency[];
  /**
   * Keys that would change a setting of a resource the block adopts: the first `up` must
   * change nothing on them. `given` is the block as written, before defaults.
   */
  conflicts?(settings: Settings, given: Record<string, any>): AdoptionConflict[];
}
