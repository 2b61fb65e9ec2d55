/** Release archives shaped like GitHub's zipballs, for the skill-sync tests and its local stand-in. */
import yazl from "yazl";

/** A real zip archive with one top folder named after a commit, holding `files` (path → content). */
export function zipball(files: Record<string, string>, topFolder = "brn-skill-template-3f2a1b9"): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), `${topFolder}/${name}`);
  zip.end();
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
  for (let i = out.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])); i !== -1; i = out.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), i + 4)) {
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
