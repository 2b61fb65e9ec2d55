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
