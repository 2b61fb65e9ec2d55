/**
 * Template code: an assessment's GitHub release archive, unpacked into the bot's bucket
 * under `templates/{template_repo}/{latest_release}/`, the prefix the GitHub bot lists
 * (each file's path inside the archive's top folder follows). A record
 * `synced-releases/{template_repo}/{latest_release}.json`, outside that prefix, names the
 * commit the files came from and every object put.
 *
 * Each run asks GitHub which commit the release's tag points at (a conditional request:
 * GitHub answers 304 while it is the recorded one) and lists the prefix once. A tag that
 * moved is uploaded again, replacing the objects (and removing those the new commit no
 * longer has); objects gone from the bucket are put back; otherwise nothing is downloaded.
 *
 * The archive streams to a temporary file and is read twice: every entry is checked (name,
 * bounds, size, CRC) before the first upload, so an archive that fails leaves nothing under
 * the prefix. An unsafe entry (`../`, an absolute path) is skipped and reported; every error
 * of the zip reader is handled.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import mime from "mime/lite";
import yauzl from "yauzl";
import { SKILLS_BUCKET_PREFIXES } from "../lib/env-names";
import { TimeBudget } from "../lib/budget";
import { DEFAULT_RETRY_POLICY, downloadWithRetry, HttpError, type RetryPolicy, requestWithRetry } from "../lib/http";

const TEMPLATES_PREFIX = SKILLS_BUCKET_PREFIXES.templates;
const MARKERS_PREFIX = SKILLS_BUCKET_PREFIXES.syncedReleases;

export interface ReleaseArchive {
  apiUrl: string;
  org: string;
  repo: string;
  release: string;
  token?: string;
}

/** How much one archive may expand to. */
export interface ArchiveBounds {
  /** Total uncompressed bytes of its files. */
  maxBytes: number;
  /** Entries (files and folders). */
  maxEntries: number;
}

/** What `synced-releases/{repo}/{release}.json` holds. */
export interface ReleaseRecord {
  /** `{org}/{repo}`. */
  repo: string;
  release: string;
  /** The commit the files came from. */
  commit: string;
  files: number;
  /** Every object put, with its size. */
  objects: Record<string, number>;
  skipped: string[];
}

export interface TemplateResult {
  /** created: a release not synced before; updated: its tag moved, or objects were missing. */
  outcome: "created" | "updated" | "unchanged";
  commit: string;
  /** Keys put and deleted by this run. */
  put: string[];
  deleted: string[];
  /** Entries left out, with why. */
  skipped: string[];
}

/** `templates/{repo}/{release}/`: what the bot lists for an assessment. */
export function releasePrefix(repo: string, release: string): string {
  return `${TEMPLATES_PREFIX}${repo}/${release}/`;
}

/** Where the record of a synced release is kept. */
export function markerKey(repo: string, release: string): string {
  return `${MARKERS_PREFIX}${repo}/${release}.json`;
}

function repoUrl(archive: ReleaseArchive): string {
  return `${archive.apiUrl.replace(/\/+$/, "")}/repos/${encodeURIComponent(archive.org)}/${encodeURIComponent(archive.repo)}`;
}

function githubHeaders(archive: ReleaseArchive, accept: string): Record<string, string> {
  return {
    accept,
    "x-github-api-version": "2022-11-28",
    ...(archive.token ? { authorization: `Bearer ${archive.token}` } : {}),
  };
}

/**
 * The commit the release's tag points at: `GET /repos/{org}/{repo}/commits/{release}` with
 * the `sha` media type. With `known`, GitHub answers 304 while the tag still points there.
 */
export async function releaseCommit(
  archive: ReleaseArchive,
  known: string | undefined,
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  budget?: TimeBudget,
): Promise<string> {
  const url = `${repoUrl(archive)}/commits/${encodeURIComponent(archive.release)}`;
  const headers = { ...githubHeaders(archive, "application/vnd.github.sha"), ...(known ? { "if-none-match": `"${known}"` } : {}) };
  let answer: { body: string };
  try {
    answer = await requestWithRetry(url, { headers }, retry, budget);
  } catch (err) {
    if (known && err instanceof HttpError && err.status === 304) return known;
    throw err;
  }
  const sha = answer.body.trim();
  if (!/^[0-9a-f]{40}$/.test(sha))
    throw new Error(
      `GitHub answered ${JSON.stringify(sha.slice(0, 80))} for the commit of ${archive.repo}@${archive.release}, not a commit SHA`,
    );
  return sha;
}

/** Downloads `GET /repos/{org}/{repo}/zipball/{release}` (following GitHub's redirect) to a file. */
export async function downloadZipball(
  archive: ReleaseArchive,
  file: string,
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  budget: TimeBudget = TimeBudget.unbounded(),
): Promise<void> {
  const url = `${repoUrl(archive)}/zipball/${encodeURIComponent(archive.release)}`;
  await downloadWithRetry(
    url,
    file,
    { headers: githubHeaders(archive, "application/vnd.github+json") },
    { ...retry, requestTimeoutMs: Math.max(retry.requestTimeoutMs, 60_000) },
    budget,
  );
}

/**
 * The path of an entry inside the archive's top folder, or why it is skipped. GitHub's
 * zipballs hold one top folder named after the commit.
 */
export function entryPath(entry: yauzl.Entry): { path: string } | { folder: true } | { unsafe: string } {
  const name = entryName(entry);
  const problem = yauzl.validateFileName(name);
  if (problem) return { unsafe: problem };
  if (name.endsWith("/")) return { folder: true };
  const parts = name.split("/").slice(1);
  if (parts.length === 0 || parts.some((p) => p === "" || p === ".")) return { unsafe: `not inside the archive's top folder: ${name}` };
  return { path: parts.join("/") };
}

function entryName(entry: yauzl.Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
}

/**
 * The commit a GitHub zipball was made from: `git archive` writes its full SHA as the zip's
 * comment, and the top folder (`{owner}-{repo}-{sha}`) ends with its first characters.
 */
export function archiveCommit(comment: string, topFolder: string | undefined): { full?: string; short?: string } {
  const full = /^[0-9a-f]{40}$/.test(comment.trim()) ? comment.trim() : undefined;
  const short = /-([0-9a-f]{7,40})$/.exec(topFolder ?? "")?.[1];
  return { full, short };
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    // Names are decoded and checked here, entry by entry, so that an unsafe one is skipped rather than ending the archive.
    yauzl.open(file, { lazyEntries: true, autoClose: true, decodeStrings: false, validateEntrySizes: true }, (err, zip) =>
      err ? reject(err) : resolve(zip),
    ),
  );
}

/** Feeds an entry's bytes to `chunk`; a size that does not match the header, or a corrupt deflate stream, rejects. */
function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, chunk: (bytes: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error("no stream"));
      stream.on("error", reject);
      stream.on("data", chunk);
      stream.on("end", () => resolve());
    }),
  );
}

interface ArchiveFile {
  path: string;
  entry: yauzl.Entry;
  read: (chunk: (bytes: Buffer) => void) => Promise<void>;
}

/**
 * Walks the archive's entries in order: `visit` gets each file inside the top folder,
 * `skip` each unsafe one. Any error of the reader or of `visit` ends the walk and rejects.
 */
function walkArchive(
  zip: yauzl.ZipFile,
  visit: (f: ArchiveFile) => Promise<void>,
  skip: (why: string) => void = () => undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      zip.close();
      reject(err);
    };
    zip.on("error", fail);
    zip.on("end", () => resolve());
    zip.on("entry", (entry: yauzl.Entry) => {
      const where = entryPath(entry);
      if ("folder" in where) return zip.readEntry();
      if ("unsafe" in where) {
        skip(where.unsafe);
        return zip.readEntry();
      }
      visit({ path: where.path, entry, read: (chunk) => readEntry(zip, entry, chunk) }).then(() => zip.readEntry(), fail);
    });
    zip.readEntry();
  });
}

/** What the first reading of an archive found: every file, all checked. */
export interface CheckedArchive {
  files: { path: string; size: number }[];
  skipped: string[];
  commit: { full?: string; short?: string };
}

/**
 * Reads the whole archive once without uploading: the entry count and the total size are
 * bounded, each file must inflate to its declared size with its declared CRC-32. Rejects with
 * the reason when any does not.
 */
export async function checkArchive(file: string, bounds: ArchiveBounds): Promise<CheckedArchive> {
  const zip = await openZip(file);
  if (zip.entryCount > bounds.maxEntries) {
    zip.close();
    throw new Error(`the archive has ${zip.entryCount} entries; at most ${bounds.maxEntries} are allowed (skills.templates.maxEntries)`);
  }
  // Without decoding, yauzl gives the comment as bytes.
  const comment = Buffer.from(zip.comment as unknown as Buffer).toString("latin1");
  const checked: CheckedArchive = { files: [], skipped: [], commit: {} };
  let topFolder: string | undefined;
  let bytes = 0;
  await walkArchive(
    zip,
    async ({ path, entry, read }) => {
      topFolder ??= entryName(entry).split("/")[0];
      bytes += entry.uncompressedSize;
      if (bytes > bounds.maxBytes)
        throw new Error(`the archive expands past ${bounds.maxBytes} bytes (skills.templates.maxBytes) at ${path}`);
      let crc = 0;
      let size = 0;
      await read((bytes) => {
        crc = crc32(bytes, crc);
        size += bytes.length;
      }).catch((err: Error) => Promise.reject(new Error(`entry ${path}: ${err.message}`)));
      if (crc !== entry.crc32) throw new Error(`entry ${path}: its content does not match its CRC-32`);
      checked.files.push({ path, size });
    },
    (why) => checked.skipped.push(why),
  );
  checked.commit = archiveCommit(comment, topFolder);
  return checked;
}

/** Puts the archive's files whose key `wanted` accepts under the release's prefix, one at a time, adding each key to `put`. */
async function uploadArchive(
  s3: S3Client,
  bucket: string,
  file: string,
  prefix: string,
  wanted: (key: string) => boolean,
  put: string[],
): Promise<void> {
  await walkArchive(await openZip(file), async ({ path, read }) => {
    const key = prefix + path;
    if (!wanted(key)) return;
    const chunks: Buffer[] = [];
    await read((bytes) => chunks.push(bytes));
    const body = Buffer.concat(chunks);
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: mime.getType(path) ?? "application/octet-stream" }),
    );
    put.push(key);
  });
}

/** Every key under `prefix`, with its size: one ListObjectsV2 per 1,000 keys. */
export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<Map<string, number>> {
  const objects = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) objects.set(object.Key, object.Size ?? 0);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** The releases already synced, from their records (one listing per run). */
export async function syncedReleases(s3: S3Client, bucket: string): Promise<Set<string>> {
  return new Set((await listObjects(s3, bucket, MARKERS_PREFIX)).keys());
}

/** A release's record; undefined when it is unreadable or from before records named the commit (the release is then synced again). */
export async function readRecord(s3: S3Client, bucket: string, repo: string, release: string): Promise<ReleaseRecord | undefined> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: markerKey(repo, release) }));
  try {
    const record = JSON.parse((await answer.Body?.transformToString()) ?? "") as Partial<ReleaseRecord>;
    return typeof record.commit === "string" && record.objects && typeof record.objects === "object"
      ? (record as ReleaseRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The archive must be of `commit`; a tag that moved between the two requests is tried again next run. */
function checkCommit(checked: CheckedArchive, commit: string): void {
  const { full, short } = checked.commit;
  const matches = full ? full === commit : short ? commit.startsWith(short) : true;
  if (!matches)
    throw new Error(
      `the archive is of commit ${full ?? short}, not of ${commit}, which the tag pointed at a moment before; it is tried again next run`,
    );
}

export interface SyncTemplateOptions {
  /** Whether the release has a record (from the run's one listing of the records). */
  recorded: boolean;
  retry?: RetryPolicy;
  budget?: TimeBudget;
}

/**
 * Brings the release's prefix in line with the commit its tag points at: nothing to do
 * when the record names that commit and every object it lists is there; the missing ones
 * put back when the commit is the same; everything put again (and what the new commit no
 * longer has deleted) when it is not. The record is written once every file is up, so a
 * release that fails is tried again next run. The temporary file is always removed.
 */
export async function syncTemplate(
  s3: S3Client,
  bucket: string,
  archive: ReleaseArchive,
  bounds: ArchiveBounds,
  options: SyncTemplateOptions,
): Promise<TemplateResult> {
  const { repo, release } = archive;
  const prefix = releasePrefix(repo, release);
  const record = options.recorded ? await readRecord(s3, bucket, repo, release) : undefined;
  const commit = await releaseCommit(archive, record?.commit, options.retry, options.budget);
  const result: TemplateResult = { outcome: "unchanged", commit, put: [], deleted: [], skipped: [] };
  const present = await listObjects(s3, bucket, prefix);
  const missing =
    record?.commit === commit ? Object.keys(record.objects).filter((key) => present.get(key) !== record.objects[key]) : undefined;
  if (missing?.length === 0) return result;

  const dir = await mkdtemp(join(tmpdir(), "template-"));
  try {
    const file = join(dir, "release.zip");
    await downloadZipball(archive, file, options.retry, options.budget);
    const checked = await checkArchive(file, bounds);
    checkCommit(checked, commit);
    result.skipped = checked.skipped;
    if (missing) {
      // Same commit: only what went missing is put back.
      const wanted = new Set(missing);
      await uploadArchive(s3, bucket, file, prefix, (key) => wanted.has(key), result.put);
      result.outcome = "updated";
      return result;
    }
    const keys = new Set(checked.files.map((f) => prefix + f.path));
    try {
      await uploadArchive(s3, bucket, file, prefix, () => true, result.put);
    } catch (err) {
      // A release never synced keeps nothing of a failed upload; one replacing another keeps its record, so the next run puts it again.
      if (!record)
        for (const key of result.put.filter((k) => !present.has(k)))
          await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
      throw err;
    }
    for (const key of present.keys()) {
      if (keys.has(key)) continue;
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      result.deleted.push(key);
    }
    const written: ReleaseRecord = {
      repo: `${archive.org}/${repo}`,
      release,
      commit,
      files: checked.files.length,
      objects: Object.fromEntries(checked.files.map((f) => [prefix + f.path, f.size])),
      skipped: checked.skipped,
    };
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: markerKey(repo, release),
        ContentType: "application/json",
        Body: JSON.stringify(written),
      }),
    );
    result.outcome = record || options.recorded ? "updated" : "created";
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
