/** The inbound-mail path's one S3 read, through the real SDK client (the transport mocked). */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { getObject } from '#adapters/s3-object';

describe('getObject', () => {
  it('returns the stored message bytes for the bucket and key SES named', async () => {
    const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(s3);
    const raw = 'From: a@example.net\r\nSubject: Re: hi\r\n\r\nThanks!\r\n';
    // The SDK's stream body, reduced to the one method the adapter uses.
    const Body = { transformToByteArray: async () => new Uint8Array(Buffer.from(raw)) };
    mock.on(GetObjectCommand, { Bucket: 'inbound', Key: 'mail/abc' }).resolves({ Body } as never);
    const bytes = await getObject('inbound', 'mail/abc', s3);
    expect(Buffer.from(bytes).toString('utf8')).toBe(raw);
    expect(mock.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it('fails loudly when S3 fails, so the invocation is retried and then dead-lettered', async () => {
    const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    mockClient(s3).on(GetObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    await expect(getObject('inbound', 'mail/abc', s3)).rejects.toThrow('Access Denied');
  });
});
