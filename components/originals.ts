/**
 * The originals' settings, per app, as data (apps/<app>/originals.json): what each
 * resource tributary adopts was given by the deployment it replaces, each value with the file
 * it came from. The adoption report, the mock engine and the config's conflict checks read it.
 */
import type { Improvement } from "./adoption";
import alma from "../apps/alma/originals.json";
import hdoc from "../apps/hdoc/originals.json";
import iota from "../apps/iota/originals.json";
import lessons from "../apps/lessons/originals.json";
import skills from "../apps/skills/originals.json";

/** One setting of an original resource, named as the Pulumi input it corresponds to. */
export interface OriginalSetting {
  /** The value the original gives it; `null` means unset (none, or the service's default). */
  value?: unknown;
  /** Part of the resource's identity (its name, key, owner): given by the import id and config. */
  identity?: boolean;
  /** Decided outside the original's templates (by hand, or a deploy-time parameter): tributary keeps it as it is. */
  kept?: boolean;
  /** The value is the service's default, which leaving the input out also gives. */
  default?: boolean;
  /** Key of the file it came from, in the app's `sources`. */
  source?: string;
  /** The improvement that changes it (see components/adoption.ts). */
  improvement?: Improvement;
  note?: string;
}

export interface OriginalResource {
  /** Tributary's logical name and type for the adopted resource. */
  name: string;
  type: string;
  /** What the original calls it. */
  original: string;
  settings: Record<string, OriginalSetting>;
  /** Resources that configure it (a bucket's policy, a repository's lifecycle), by type: what the original had. */
  attachments?: Record<string, OriginalSetting>;
}

export interface AppOriginals {
  /** The region the original runs in. */
  region?: OriginalSetting;
  /** The files the values came from: repository@commit and path. */
  sources: Record<string, string>;
  resources: OriginalResource[];
}

export const ORIGINALS = { lessons, skills, iota, alma, hdoc } as unknown as Record<
  "lessons" | "skills" | "iota" | "alma" | "hdoc",
  AppOriginals
>;
export type OriginalsApp = keyof typeof ORIGINALS;

/** The original of an adopted resource, and its app. */
export function originalOf(type: string, name: string): { app: OriginalsApp; resource: OriginalResource } | undefined {
  for (const [app, originals] of Object.entries(ORIGINALS) as [OriginalsApp, AppOriginals][]) {
    const resource = originals.resources.find((r) => r.type === type && r.name === name);
    if (resource) return { app, resource };
  }
  return undefined;
}

/** Where a setting's value came from, spelled out. */
export function sourceOf(app: OriginalsApp, setting: OriginalSetting | undefined): string {
  if (!setting?.source) return "no recorded source";
  return ORIGINALS[app].sources[setting.source] ?? setting.source;
}
