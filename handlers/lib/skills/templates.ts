/**
 * Template code: an assessment's GitHub release archive, unpacked into S3 under
 * `templates/`. The archive streams to a temporary file and each file streams from there
 * to S3, so neither the archive nor its files are ever held in memory whole.
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import mime from "mime/lite";
import yauzl from "yauzl";
import { DEFAULT_RETRY_POLICY, fetchWithRetry, type RetryPolicy } from "../http";

export const TEMPLATES_PREFIX = "templates/";

export interface ReleaseArchive {
  apiUrl: string;
  org: string;
  repo: string;
  release: string;
  token?: string;
}

/** Downloads `GET /repos/{org}/{repo}/zipball/{release}` (following GitHub's redirect) to a file. */
export async function downloadZipball(archive: ReleaseArchive, file: string, retry: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<void> {
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
  );
  if (!response.body) throw new Error(`${url} answered without a body`);
  await pipeline(Readable.fromWeb(response.body as unknown as WebReadableStream), createWriteStream(file));
}

/** `org-repo-1a2b3c/src/app.py` → `templates/src/app.py`; undefined for folders and unsafe paths. */
export function templateKey(entryName: string): string | undefined {
  if (entryName.endsWith("/")) return undefined;
  const parts = entryName.split("/").slice(1);
  if (parts.length === 0 || parts.some((p) => p === "" || p === "." || p === "..")) return undefined;
  return TEMPLATES_PREFIX + parts.join("/");
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: true }, (err, zip) => (err ? reject(err) : resolve(zip))),
  );
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))));
}

/** Streams every file of the archive to `bucket`, one at a time; returns the keys written. */
export async function uploadArchive(s3: S3Client, bucket: string, file: string): Promise<string[]> {
  const zip = await openZip(file);
  const keys: string[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on("error", reject);
    zip.on("end", () => resolve());
    zip.on("entry", (entry: yauzl.Entry) => {
      const key = templateKey(entry.fileName);
      if (!key) {
        zip.readEntry();
        return;
      }
      openEntry(zip, entry)
        .then((body) =>
          s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: body,
              ContentLength: entry.uncompressedSize,
              ContentType: mime.getType(key) ?? "application/octet-stream",
            }),
          ),
        )
        .then(() => {
          keys.push(key);
          zip.readEntry();
        }, reject);
    });
    zip.readEntry();
  });
  return keys;
}

/** Downloads a release and unpacks it into the bucket, cleaning up the temporary file. */
export async function syncTemplate(s3: S3Client, bucket: string, archive: ReleaseArchive, retry?: RetryPolicy): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "template-"));
  try {
    const file = join(dir, "release.zip");
    await downloadZipball(archive, file, retry);
    return await uploadArchive(s3, bucket, file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
