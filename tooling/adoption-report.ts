/**
 * What the first `pulumi up` of a stack would change on the resources it adopts, computed
 * offline from a mock-engine run against the originals' settings (apps/<app>/originals.json).
 *
 * For each adopted resource, every input the program declares and does not keep
 * (`ignoreChanges`) must equal the original's value; every value the original sets must be
 * declared or kept; and every resource that configures it (a bucket's policy, a repository's
 * lifecycle) must match what the original had. What differs is a change: allowed only when
 * the app opts in to the improvement that makes it. Adding statements to a policy while
 * keeping the original's is an addition, which leaves what the neighbours use untouched.
 */
import { type Improvement, IMPROVEMENT_STATEMENTS, IMPROVEMENTS } from "../components/adoption";
import { type OriginalResource, type OriginalSetting, type OriginalsApp, originalOf, sourceOf } from "../components/originals";
import { PROJECT } from "../config";
import type { RecordedResource, RunResult } from "./mock-engine";

export interface AdoptedResource {
  urn: string;
  type: string;
  name: string;
  importId: string;
  /** What the original deployment calls it. */
  original?: string;
}

export interface AdoptionChange {
  /** The adopted resource's logical name and type. */
  resource: string;
  type: string;
  urn: string;
  /** The input that changes, or the type of the resource that configures it. */
  setting: string;
  /** The original's value (`"kept"` where only its owner knows it), and where it came from. */
  original: unknown;
  source: string;
  /** What the program would make it. */
  planned: unknown;
  /** `addition`: the original's value is kept and something is added beside it. */
  kind: "change" | "addition";
  /** The improvement that makes the change, and the config key that opts in to it when set. */
  improvement?: Improvement;
  optIn?: string;
  note?: string;
}

export interface AdoptionReport {
  adopted: AdoptedResource[];
  changes: AdoptionChange[];
}

/** Inputs that only steer the provider, never a setting in the cloud. */
const PROVIDER_ONLY_INPUTS = new Set(["forceDestroy", "forceDelete", "region"]);

/** Resource types that configure another resource, and the input that names it. */
const ATTACHMENT_TARGETS: Record<string, string> = {
  "aws:s3/bucketPolicy:BucketPolicy": "bucket",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket",
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "bucket",
  "aws:s3/bucketVersioning:BucketVersioning": "bucket",
  "aws:ecr/repositoryPolicy:RepositoryPolicy": "repository",
  "aws:ecr/lifecyclePolicy:LifecyclePolicy": "repository",
  "aws:sqs/queuePolicy:QueuePolicy": "queueUrl",
  "aws:sns/topicPolicy:TopicPolicy": "arn",
};

/** Values compared as the cloud compares them: JSON documents parsed, key order and absent-vs-null ignored. */
function canonical(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === "string" && /^\s*[[{]/.test(value)) {
    try {
      return canonical(JSON.parse(value));
    } catch {
      return value;
    }
  }
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined && v !== null)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

/** An original's value with its references (`{"$arnOf": "<type>::<name>"}`) resolved against the run. */
function resolve(value: unknown, run: RunResult): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, run));
  if (value && typeof value === "object") {
    const ref = (value as { $arnOf?: string }).$arnOf;
    if (ref !== undefined) {
      const [type, name] = [ref.slice(0, ref.lastIndexOf("::")), ref.slice(ref.lastIndexOf("::") + 2)];
      return run.resources.find((r) => r.type === type && r.name === name)?.state.arn ?? ref;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, run)]));
  }
  return value;
}

/** Whether `planned` equals `original`, where `{{...}}` placeholders in the original match any string. */
function matches(original: unknown, planned: unknown): boolean {
  const text = JSON.stringify(canonical(original));
  if (!text.includes("{{")) return text === JSON.stringify(canonical(planned));
  const pattern = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\\\{\\\{\w+\\\}\\\}/g, '[^"]*')}$`);
  return pattern.test(JSON.stringify(canonical(planned)));
}

/** The app's `hardening` choices, as the stack's config gives them. */
function hardeningOf(run: RunResult, app: OriginalsApp): Partial<Record<Improvement, boolean>> {
  const block = run.config[`${PROJECT}:${app}`];
  if (!block) return {};
  try {
    return (JSON.parse(block) as { hardening?: Partial<Record<Improvement, boolean>> }).hardening ?? {};
  } catch {
    return {};
  }
}

/** Policy statements of a policy document, by Sid (or their JSON when unnamed). */
function statements(policy: unknown): Map<string, unknown> {
  const document = canonical(policy) as { Statement?: unknown[] } | null;
  return new Map((document?.Statement ?? []).map((s) => [(s as { Sid?: string }).Sid ?? JSON.stringify(s), s]));
}

function describe(resource: RecordedResource): string {
  return Object.keys(resource.inputs).length > 0 ? JSON.stringify(resource.inputs) : "set";
}

/** The first-`up` changes on one adopted resource. */
function changesOf(resource: RecordedResource, app: OriginalsApp, original: OriginalResource, run: RunResult): AdoptionChange[] {
  const changes: AdoptionChange[] = [];
  const kept = new Set(resource.options.ignoreChanges);
  const hardening = hardeningOf(run, app);
  const change = (
    setting: string,
    spec: OriginalSetting | undefined,
    planned: unknown,
    extra: Pick<Partial<AdoptionChange>, "kind" | "note" | "improvement"> = {},
  ) => {
    const improvement = extra.improvement ?? spec?.improvement;
    changes.push({
      resource: resource.name,
      type: resource.type,
      urn: resource.urn,
      setting,
      original:
        spec === undefined ? "not recorded" : spec.kept ? "kept" : spec.value === undefined ? "not recorded" : resolve(spec.value, run),
      source: sourceOf(app, spec),
      planned,
      improvement,
      optIn: improvement && hardening[improvement] === true ? `${PROJECT}:${app}.hardening.${improvement}` : undefined,
      kind: extra.kind ?? "change",
      // What an improvement changes says more than what any one property does.
      note: extra.kind !== "addition" && improvement ? IMPROVEMENTS[improvement] : (extra.note ?? spec?.note),
    });
  };

  for (const [property, planned] of Object.entries(resource.inputs)) {
    if (property.startsWith("__") || PROVIDER_ONLY_INPUTS.has(property) || kept.has(property)) continue;
    const spec = original.settings[property];
    if (spec?.identity) continue;
    if (spec === undefined || spec.kept || spec.value === undefined)
      change(property, spec, planned, { note: "the original's value is not recorded: keep it (ignoreChanges) or record it" });
    else if (!matches(resolve(spec.value, run), planned)) change(property, spec, planned);
  }
  for (const [property, spec] of Object.entries(original.settings)) {
    if (resource.inputs[property] !== undefined || kept.has(property) || spec.identity || spec.default) continue;
    if (spec.kept || (spec.value !== undefined && spec.value !== null)) {
      change(property, spec, "(left to the provider's default)", {
        note: "the original sets it: declare the original's value or keep it (ignoreChanges)",
      });
    }
  }

  const target = resource.state.bucket ?? resource.state.name ?? resource.id;
  for (const attachment of run.resources) {
    const targetInput = ATTACHMENT_TARGETS[attachment.type];
    if (
      attachment.read ||
      !targetInput ||
      (attachment.rawInputs[targetInput] !== target && attachment.rawInputs[targetInput] !== resource.id)
    )
      continue;
    const spec = original.attachments?.[attachment.type];
    const planned = attachment.inputs.policy ?? describe(attachment);
    if (spec?.value && typeof spec.value === "object" && "Statement" in spec.value) {
      const before = statements(spec.value);
      const after = statements(attachment.rawInputs.policy);
      const keepsAll = [...before].every(([sid, statement]) => after.has(sid) && matches(statement, after.get(sid)));
      const added = [...after.keys()].filter((sid) => !before.has(sid));
      // A statement an improvement adds (a deny) changes what the neighbours may do: it needs its opt-in.
      const improving = added.filter((sid) => sid in IMPROVEMENT_STATEMENTS);
      const plain = added.filter((sid) => !(sid in IMPROVEMENT_STATEMENTS));
      for (const sid of improving) change(attachment.type, spec, planned, { improvement: IMPROVEMENT_STATEMENTS[sid] });
      if (!keepsAll) change(attachment.type, spec, planned);
      else if (plain.length > 0)
        change(attachment.type, spec, planned, { kind: "addition", note: `keeps the original's statements and adds ${plain.join(", ")}` });
    } else {
      change(attachment.type, spec, planned);
    }
  }
  return changes;
}

/** The adopted resources of a run and what the first `up` changes on them. */
export function adoptionReport(run: RunResult): AdoptionReport {
  const report: AdoptionReport = { adopted: [], changes: [] };
  for (const resource of run.resources) {
    if (resource.read || !resource.options.import) continue;
    const found = originalOf(resource.type, resource.name);
    report.adopted.push({
      urn: resource.urn,
      type: resource.type,
      name: resource.name,
      importId: resource.options.import,
      original: found?.resource.original,
    });
    if (!found) {
      report.changes.push({
        resource: resource.name,
        type: resource.type,
        urn: resource.urn,
        setting: "*",
        original: "not recorded",
        source: "apps/<app>/originals.json has no entry for it",
        planned: resource.inputs,
        kind: "change",
        note: "every adopted resource needs its original's settings recorded",
      });
      continue;
    }
    report.changes.push(...changesOf(resource, found.app, found.resource, run));
  }
  return report;
}

/** Changes the first `up` would make on adopted resources that no improvement was opted in to: the goal is none. */
export function unapprovedChanges(report: AdoptionReport): AdoptionChange[] {
  return report.changes.filter((c) => c.kind === "change" && c.optIn === undefined);
}

/** One line per change, for the preview and error messages. */
export function renderChange(change: AdoptionChange): string {
  const value = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const why = change.optIn ? `opted in: ${change.optIn}` : change.kind === "addition" ? "addition" : "NOT opted in";
  return `${change.resource} (${change.type}) ${change.setting}: ${value(change.original)} → ${value(change.planned)} [${why}] (original: ${change.source})${change.note ? `; ${change.note}` : ""}`;
}
