/** Release archives shaped like GitHub's zipballs, for the skill-sync tests and its local stand-in. */
import { createHash } from "node:crypto";
import yazl from "yazl";
import type { StubResponse } from "./http-stub";

export interface ZipballOptions {
  /** The commit it is made from; by default one derived from the files, so other content is another commit. */
  commit?: string;
  /** The top folder; by default `brn-skill-template-{first 7 characters of the commit}`, as GitHub names it. */
  topFolder?: string;
  /** Stores the files uncompressed. */
  store?: boolean;
}

/** The commit a test archive of `files` is made from when none is given. */
export function commitOf(files: Record<string, string>): string {
  return createHash("sha1").update(JSON.stringify(files)).digest("hex");
}

/**
 * A real zip archive as GitHub's zipballs are made (`git archive`): one top folder named
 * after the commit, holding `files` (path → content), and the commit's SHA as the zip comment.
 */
export function zipball(files: Record<string, string>, options: ZipballOptions = {}): Promise<Buffer> {
  const commit = options.commit ?? commitOf(files);
  const topFolder = options.topFolder ?? `brn-skill-template-${commit.slice(0, 7)}`;
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files))
    zip.addBuffer(Buffer.from(content), `${topFolder}/${name}`, { compress: !options.store });
  zip.end({ forceZip64Format: false, comment: commit });
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on("data", (c: Buffer) => chunks.push(c));
    zip.outputStream.on("end", () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on("error", reject);
  });
}

/**
 * Replaces every occurrence of `from` in an archive's bytes with `to`, of the same length:
 * a way to give an entry a name no zip writer would (`../x`, `/etc/passwd`).
 */
export function patchName(archive: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error("a patched name keeps its length");
  const out = Buffer.from(archive);
  for (let i = out.indexOf(from); i !== -1; i = out.indexOf(from, i + 1)) out.write(to, i, "latin1");
  return out;
}

/** Declares a wrong uncompressed size for the entry `name` in the central directory, as a broken or hostile archive would. */
export function patchDeclaredSize(archive: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(archive);
  for (
    let i = out.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    i !== -1;
    i = out.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), i + 4)
  ) {
    const nameLength = out.readUInt16LE(i + 28);
    if (out.toString("utf8", i + 46, i + 46 + nameLength).endsWith(name)) out.writeUInt32LE(size, i + 24);
  }
  return out;
}

/** Overwrites the middle of an entry's compressed bytes, as a corrupted download would. */
export function corruptData(archive: Buffer, marker: string): Buffer {
  const out = Buffer.from(archive);
  const header = out.indexOf(marker);
  // The data follows the local header's file name; damage a stretch well inside it.
  for (let i = header + marker.length + 20; i < header + marker.length + 60; i++) out[i] = 0xff;
  return out;
}

/** The commit SHA a zipball names in its comment (the end of the archive), or undefined. */
export function zipballCommit(archive: Buffer): string | undefined {
  const tail = archive.subarray(archive.length - 40).toString("latin1");
  return /^[0-9a-f]{40}$/.test(tail) ? tail : undefined;
}

/**
 * GitHub's answer to `GET /repos/{owner}/{repo}/commits/{ref}` with the `sha` media type,
 * for a tag whose zipball is `archive`: the commit's SHA, or 304 when `If-None-Match` names it.
 */
export function commitShaAnswer(archive: Buffer | undefined, ifNoneMatch: string | string[] | undefined): StubResponse {
  const commit = archive && zipballCommit(archive);
  if (!commit) return { status: 422, body: { message: "No commit found for SHA" } };
  if (ifNoneMatch === `"${commit}"`) return { status: 304, headers: { etag: `"${commit}"` } };
  return { headers: { "content-type": "application/vnd.github.sha; charset=utf-8", etag: `"${commit}"` }, body: commit };
}
