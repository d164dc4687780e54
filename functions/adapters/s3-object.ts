/**
 * One S3 GetObject, signed with SigV4 by node:crypto, using the Lambda's own credentials from the
 * environment. (The project carries no S3 client; this is the single call the inbound-mail path
 * needs, so a hand-rolled request beats a new dependency.)
 */
import { createHash, createHmac } from 'node:crypto';

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const encodeKey = (key: string) => key.split('/').map((p) => encodeURIComponent(p).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function credentialsFromEnv(env = process.env): S3Credentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new Error('no AWS credentials in the environment');
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }) };
}

/** The signed request for GET s3://bucket/key (virtual-hosted style). Exposed for tests. */
export function signedGetObject(bucket: string, key: string, region: string, creds: S3Credentials, now: Date): { url: string; headers: Record<string, string> } {
  const host = `${bucket}.s3.${region}.amazonaws.com`;
  const path = `/${encodeKey(key)}`;
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256hex('');
  const headers: Record<string, string> = { host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate, ...(creds.sessionToken && { 'x-amz-security-token': creds.sessionToken }) };
  const names = Object.keys(headers).sort();
  const canonical = ['GET', path, '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), payloadHash].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(toSign, 'utf8').digest('hex');
  const { host: _host, ...rest } = headers;
  return {
    url: `https://${host}${path}`,
    headers: { ...rest, authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` },
  };
}

/** The object's bytes; throws on anything but 200 (the invocation is retried, then dead-lettered). */
export async function getObject(bucket: string, key: string, region = process.env.AWS_REGION ?? 'us-east-1'): Promise<Uint8Array> {
  const req = signedGetObject(bucket, key, region, credentialsFromEnv(), new Date());
  const res = await fetch(req.url, { headers: req.headers, signal: AbortSignal.timeout(20_000) });
  if (!res.ok) throw new Error(`S3 GetObject answered ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
