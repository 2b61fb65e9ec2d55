import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { ConfigError, loadConfig } from "../../config";
import { loadStackConfig, type RunResult, runProgram, runStack } from "../../tooling/mock-engine";
import { stackSettingsFile } from "../../paths";

/** A stack's settings (the `config:` map of Pulumi.<stack>.yaml), to change in a variant. */
export function stackSettings(stack: string): Record<string, any> {
  return parseYaml(fs.readFileSync(stackSettingsFile(stack), "utf8")).config;
}

/** Writes a variant of a stack's settings file, changed by `edit`, and returns its path. */
export function settingsVariant(stack: string, edit: (config: Record<string, any>) => void): string {
  const config = stackSettings(stack);
  edit(config);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `${stack}-variant-`)), `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, toYaml({ config }));
  return file;
}

/** Runs the program for a variant of a stack's settings. */
export function runVariant(stack: string, edit: (config: Record<string, any>) => void): Promise<RunResult> {
  return runStack(stack, { settingsFile: settingsVariant(stack, edit) });
}

/** The ConfigError the program stops with for a variant of a stack's settings. */
export async function variantConfigError(stack: string, edit: (config: Record<string, any>) => void): Promise<ConfigError> {
  const { config, secretKeys } = loadStackConfig(stack, settingsVariant(stack, edit));
  let caught: unknown;
  await runProgram(
    () => {
      try {
        loadConfig();
      } catch (err) {
        caught = err;
      }
    },
    { stack, config, secretKeys },
  );
  if (!(caught instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${caught}`);
  return caught;
}
