/** One S3 GetObject for the inbound-mail path: the raw message SES stored. The real SDK client. */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

let client: S3Client | undefined;

/** The object's bytes; throws on failure (the invocation is retried, then dead-lettered). */
export async function getObject(bucket: string, key: string, s3: S3Client = (client ??= new S3Client({}))): Promise<Uint8Array> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error('S3 GetObject returned no body');
  return out.Body.transformToByteArray();
}
