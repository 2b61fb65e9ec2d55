/**
 * Template code: an assessment's GitHub release archive, unpacked into the bot's bucket
 * under `templates/{template_repo}/{latest_release}/`, the prefix the GitHub bot lists
 * (each file's path inside the archive's top folder follows). The archive streams to a
 * temporary file; each entry is read with its size checked, then put.
 *
 * Upstream data cannot hurt the run: an unsafe entry (`../`, an absolute path) is skipped
 * and reported; a corrupt entry, or an archive over the bounds, fails that template only;
 * every error of the zip reader is handled. Once every file is up, a marker
 * `synced-releases/{template_repo}/{latest_release}.json` records the release, outside the
 * prefix the bot lists, so that a release is never uploaded twice.
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import mime from "mime/lite";
import yauzl from "yauzl";
import { SKILLS_BUCKET_PREFIXES } from "../lib/env-names";
import { TimeBudget } from "../lib/budget";
import { DEFAULT_RETRY_POLICY, fetchWithRetry, type RetryPolicy } from "../lib/http";

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

export interface TemplateResult {
  keys: string[];
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

/** Downloads `GET /repos/{org}/{repo}/zipball/{release}` (following GitHub's redirect) to a file. */
export async function downloadZipball(
  archive: ReleaseArchive,
  file: string,
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  budget: TimeBudget = TimeBudget.unbounded(),
): Promise<void> {
  const url = `${archive.apiUrl.replace(/\/+$/, "")}/repos/${encodeURIComponent(archive.org)}/${encodeURIComponent(archive.repo)}/zipball/${encodeURIComponent(archive.release)}`;
  const response = await fetchWithRetry(
    url,
    {
      headers: {
        accept: "application/vnd.github+json",
        "x-github-api-version": "2022-11-28",
        ...(archive.token ? { authorization: `Bearer ${archive.token}` } : {}),
      },
    },
    { ...retry, requestTimeoutMs: Math.max(retry.requestTimeoutMs, 60_000) },
    budget,
  );
  if (!response.body) throw new Error(`${url} answered without a body`);
  await pipeline(Readable.fromWeb(response.body as unknown as WebReadableStream), createWriteStream(file));
}

/**
 * The path of an entry inside the archive's top folder, or why it is skipped. GitHub's
 * zipballs hold one top folder named after the commit.
 */
export function entryPath(entry: yauzl.Entry): { path: string } | { folder: true } | { unsafe: string } {
  const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
  const problem = yauzl.validateFileName(name);
  if (problem) return { unsafe: problem };
  if (name.endsWith("/")) return { folder: true };
  const parts = name.split("/").slice(1);
  if (parts.length === 0 || parts.some((p) => p === "" || p === ".")) return { unsafe: `not inside the archive's top folder: ${name}` };
  return { path: parts.join("/") };
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    // Names are decoded and checked here, entry by entry, so that an unsafe one is skipped rather than ending the archive.
    yauzl.open(file, { lazyEntries: true, autoClose: true, decodeStrings: false, validateEntrySizes: true }, (err, zip) => (err ? reject(err) : resolve(zip))),
  );
}

/** An entry's bytes; a size that does not match the header, or a corrupt deflate stream, rejects. */
function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error("no stream"));
      const chunks: Buffer[] = [];
      stream.on("error", reject);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => resolve(Buffer.concat(chunks)));
    }),
  );
}

/** Puts every safe file of the archive under the release's prefix, one at a time. */
export async function uploadArchive(s3: S3Client, bucket: string, file: string, repo: string, release: string, bounds: ArchiveBounds): Promise<TemplateResult> {
  const zip = await openZip(file);
  const result: TemplateResult = { keys: [], skipped: [] };
  if (zip.entryCount > bounds.maxEntries) {
    zip.close();
    throw new Error(`the archive has ${zip.entryCount} entries; at most ${bounds.maxEntries} are allowed (skills.templates.maxEntries)`);
  }
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      zip.close();
      reject(err);
    };
    // Every error of the reader ends this archive: none is left unhandled.
    zip.on("error", fail);
    zip.on("end", () => resolve());
    zip.on("entry", (entry: yauzl.Entry) => {
      const where = entryPath(entry);
      if ("folder" in where) return zip.readEntry();
      if ("unsafe" in where) {
        result.skipped.push(where.unsafe);
        return zip.readEntry();
      }
      bytes += entry.uncompressedSize;
      if (bytes > bounds.maxBytes) return fail(new Error(`the archive expands past ${bounds.maxBytes} bytes (skills.templates.maxBytes) at ${where.path}`));
      const key = releasePrefix(repo, release) + where.path;
      readEntry(zip, entry)
        .then(
          (body) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: mime.getType(where.path) ?? "application/octet-stream" })),
          (err: Error) => Promise.reject(new Error(`entry ${where.path}: ${err.message}`)),
        )
        .then(() => {
          result.keys.push(key);
          zip.readEntry();
        }, fail);
    });
    zip.readEntry();
  });
  return result;
}

/** The releases already synced, from their markers (one listing per run). */
export async function syncedReleases(s3: S3Client, bucket: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: MARKERS_PREFIX, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.add(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Downloads a release, unpacks it into the bucket and records it; the temporary file is always removed. */
export async function syncTemplate(
  s3: S3Client,
  bucket: string,
  archive: ReleaseArchive,
  bounds: ArchiveBounds,
  retry?: RetryPolicy,
  budget?: TimeBudget,
): Promise<TemplateResult> {
  const dir = await mkdtemp(join(tmpdir(), "template-"));
  try {
    const file = join(dir, "release.zip");
    await downloadZipball(archive, file, retry, budget);
    const result = await uploadArchive(s3, bucket, file, archive.repo, archive.release, bounds);
    // Recorded only once every file is up, so that a failed template is tried again next time.
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: markerKey(archive.repo, archive.release),
        ContentType: "application/json",
        Body: JSON.stringify({ repo: `${archive.org}/${archive.repo}`, release: archive.release, files: result.keys.length, skipped: result.skipped }),
      }),
    );
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
