/** s3rver, an S3-compatible server on npm, on 127.0.0.1 with a throwaway directory. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";

/** The only key pair s3rver accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export interface LocalS3 {
  endpoint: string;
  client: S3Client;
  /** Every object of a bucket: key → { body, contentType }. */
  objects(bucket: string): Promise<Map<string, { body: string; contentType?: string }>>;
  close(): Promise<void>;
}

export async function startS3rver(buckets: string[]): Promise<LocalS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "s3rver-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    requestChecksumCalculation: "WHEN_REQUIRED",
    endpoint,
    region: "eu-west-2",
    credentials: S3RVER_CREDENTIALS,
    forcePathStyle: true,
  });
  return {
    endpoint,
    client,
    async objects(bucket) {
      const out = new Map<string, { body: string; contentType?: string }>();
      const list = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      for (const { Key } of list.Contents ?? []) {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
        out.set(Key!, { body: await object.Body!.transformToString(), contentType: object.ContentType });
      }
      return out;
    },
    async close() {
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
