/**
 * Faults on the send path's AWS adapters, with aws-sdk-client-mock: SesMailer
 * (functions/adapters/ses-mailer.ts) maps SES throttling to MailerThrottledError and lets every
 * other error through; SqsSendQueue (functions/adapters/sqs-send-queue.ts) sends batches of 10 and
 * retries only the entries SQS reports as failed.
 */
import { BadRequestException, MessageRejected, SESv2Client, SendEmailCommand, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { SQSClient, SendMessageBatchCommand, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SesMailer, formatAddress } from '#adapters/ses-mailer';
import { SqsSendQueue } from '#adapters/sqs-send-queue';
import { MailerThrottledError, type OutgoingEmail, type TouchMessage } from '#ports/ports';

const sesMock = mockClient(SESv2Client);
const sqsMock = mockClient(SQSClient);

beforeEach(() => {
  sesMock.reset();
  sqsMock.reset();
});
afterEach(() => {
  sesMock.reset();
  sqsMock.reset();
});

const mail: OutgoingEmail = {
  from: { name: 'Sam "The Closer" Patel', address: 'sam@mail.seller.example' },
  to: 'dana@example.com',
  replyTo: ['sam@seller.example'],
  subject: 'The 20-minute stale deal audit',
  text: 'Hi Dana',
  html: '<p>Hi Dana</p>',
  headers: [
    { name: 'List-Unsubscribe', value: '<https://api.example/unsubscribe/tok>' },
    { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
  ],
  tags: [
    { name: 'relationship', value: 'rel_1' },
    { name: 'touch', value: 'rel_1-t3' },
  ],
};

const meta = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 });

describe('SesMailer', () => {
  it('sends Simple content with the List-Unsubscribe headers, tags and configuration set, and returns the message id', async () => {
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-msg-1', $metadata: meta(200) });
    const out = await new SesMailer(new SESv2Client({ region: 'us-east-1' }), 'cultivate-events').send(mail);
    expect(out).toEqual({ messageId: 'ses-msg-1' });
    const calls = sesMock.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.FromEmailAddress).toBe('"Sam \\"The Closer\\" Patel" <sam@mail.seller.example>');
    expect(input?.Destination).toEqual({ ToAddresses: ['dana@example.com'] });
    expect(input?.ReplyToAddresses).toEqual(['sam@seller.example']);
    expect(input?.ConfigurationSetName).toBe('cultivate-events');
    expect(input?.Content?.Simple?.Headers).toEqual([
      { Name: 'List-Unsubscribe', Value: '<https://api.example/unsubscribe/tok>' },
      { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
    ]);
    expect(input?.Content?.Simple?.Body?.Html?.Data).toBe('<p>Hi Dana</p>');
    expect(input?.Content?.Simple?.Body?.Text?.Data).toBe('Hi Dana');
    expect(input?.EmailTags).toEqual([
      { Name: 'relationship', Value: 'rel_1' },
      { Name: 'touch', Value: 'rel_1-t3' },
    ]);
  });

  it('without a configuration set, sends none', async () => {
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-msg-2', $metadata: meta(200) });
    await new SesMailer(new SESv2Client({ region: 'us-east-1' })).send(mail);
    expect(sesMock.commandCalls(SendEmailCommand)[0]?.args[0].input.ConfigurationSetName).toBeUndefined();
  });

  it('refuses an accepted send without a MessageId (it cannot be recorded)', async () => {
    sesMock.on(SendEmailCommand).resolves({ $metadata: meta(200) });
    await expect(new SesMailer(new SESv2Client({ region: 'us-east-1' })).send(mail)).rejects.not.toBeInstanceOf(MailerThrottledError);
  });

  it('maps TooManyRequestsException to MailerThrottledError', async () => {
    sesMock.on(SendEmailCommand).rejects(new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata: meta(429) }));
    const err = await new SesMailer(new SESv2Client({ region: 'us-east-1' })).send(mail).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailerThrottledError);
    expect((err as Error).name).toBe('MailerThrottledError');
  });

  it('maps any HTTP 429 to MailerThrottledError, whatever its name', async () => {
    const e = Object.assign(new Error('slow down'), { name: 'SomethingNew', $metadata: meta(429) });
    sesMock.on(SendEmailCommand).rejects(e);
    await expect(new SesMailer(new SESv2Client({ region: 'us-east-1' })).send(mail)).rejects.toBeInstanceOf(MailerThrottledError);
  });

  it.each(['ThrottlingException', 'Throttling'])('maps %s to MailerThrottledError', async (name) => {
    sesMock.on(SendEmailCommand).rejects(Object.assign(new Error('Rate exceeded'), { name, $metadata: meta(400) }));
    await expect(new SesMailer(new SESv2Client({ region: 'us-east-1' })).send(mail)).rejects.toBeInstanceOf(MailerThrottledError);
  });

  it('lets other errors through unchanged (the touch must not be released: SES may have sent)', async () => {
    const rejected = new MessageRejected({ message: 'Email address is not verified.', $metadata: meta(400) });
    sesMock.reset();
    sesMock.on(SendEmailCommand).rejects(rejected);
    const mailer = new SesMailer(new SESv2Client({ region: 'us-east-1' }));
    await expect(mailer.send(mail)).rejects.toBe(rejected);

    const bad = new BadRequestException({ message: 'Invalid tag', $metadata: meta(400) });
    sesMock.reset();
    sesMock.on(SendEmailCommand).rejects(bad);
    await expect(mailer.send(mail)).rejects.toBe(bad);

    const network = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    sesMock.reset();
    sesMock.on(SendEmailCommand).rejects(network);
    const err = await mailer.send(mail).catch((e: unknown) => e);
    expect(err).toBe(network);
    expect(err).not.toBeInstanceOf(MailerThrottledError);

    const server = Object.assign(new Error('Internal'), { name: 'InternalFailure', $metadata: meta(500) });
    sesMock.reset();
    sesMock.on(SendEmailCommand).rejects(server);
    await expect(mailer.send(mail)).rejects.toBe(server);
  });

  it('formatAddress quotes and escapes display names', () => {
    expect(formatAddress('Sam Patel', 'sam@x.example')).toBe('"Sam Patel" <sam@x.example>');
    expect(formatAddress('A "B" \\ C', 'a@x.example')).toBe('"A \\"B\\" \\\\ C" <a@x.example>');
  });
});

// ------------------------------------------------------------------------------------------------

const messages = (n: number): TouchMessage[] =>
  Array.from({ length: n }, (_, i) => ({
    relationshipId: `rel_${i}`,
    touchId: `rel_${i}.t1`,
    planVersion: 1,
    channel: 'email' as const,
    kind: 'value-email',
    dueAt: '2026-12-08T16:00:00.000Z',
  }));

const entriesOf = (call: { args: [{ input: object }] }) => ((call.args[0].input as SendMessageBatchCommandInput).Entries ?? []);
const bodies = (call: { args: [{ input: object }] }) => entriesOf(call).map((e) => JSON.parse(e.MessageBody as string) as TouchMessage);

describe('SqsSendQueue', () => {
  const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/cultivate-send';

  it('23 messages go in 3 batches of 10, 10 and 3, each body the message itself', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
      Failed: [],
    }));
    const all = messages(23);
    await new SqsSendQueue(new SQSClient({ region: 'us-east-1' }), queueUrl, 0).enqueue(all);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => entriesOf(c).length)).toEqual([10, 10, 3]);
    for (const c of calls) {
      expect(c.args[0].input.QueueUrl).toBe(queueUrl);
      const ids = entriesOf(c).map((e) => e.Id);
      expect(new Set(ids).size).toBe(ids.length); // Ids unique within a batch
    }
    expect(calls.flatMap((c) => bodies(c))).toEqual(all);
  });

  it('no messages: no call', async () => {
    await new SqsSendQueue(new SQSClient({ region: 'us-east-1' }), queueUrl, 0).enqueue([]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('retries only the entries SQS reports as Failed', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .callsFakeOnce((input: SendMessageBatchCommandInput) => ({
        Successful: (input.Entries ?? []).filter((e) => e.Id !== '3' && e.Id !== '7').map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
        Failed: [
          { Id: '3', SenderFault: false, Code: 'InternalError' },
          { Id: '7', SenderFault: false, Code: 'ServiceUnavailable' },
        ],
      }))
      .callsFake((input: SendMessageBatchCommandInput) => ({
        Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
        Failed: [],
      }));
    const all = messages(10);
    await new SqsSendQueue(new SQSClient({ region: 'us-east-1' }), queueUrl, 0).enqueue(all);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    expect(entriesOf(calls[1] as never).map((e) => e.Id)).toEqual(['3', '7']);
    expect(bodies(calls[1] as never)).toEqual([all[3], all[7]]);
    // every message went exactly once
    const sent = [...bodies(calls[0] as never).filter((_, i) => i !== 3 && i !== 7), ...bodies(calls[1] as never)];
    expect(sent.map((m) => m.relationshipId).sort()).toEqual(all.map((m) => m.relationshipId).sort());
  });

  it('retries a batch whose call failed outright, then succeeds', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }))
      .callsFake((input: SendMessageBatchCommandInput) => ({ Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })), Failed: [] }));
    await new SqsSendQueue(new SQSClient({ region: 'us-east-1' }), queueUrl, 0).enqueue(messages(4));
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    expect(entriesOf(calls[1] as never)).toHaveLength(4);
  });

  it('throws after persistent partial failures, without re-sending the entries that went', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: (input.Entries ?? []).filter((e) => e.Id !== '0').map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
      Failed: (input.Entries ?? []).filter((e) => e.Id === '0').map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError' })),
    }));
    await expect(new SqsSendQueue(new SQSClient({ region: 'us-east-1' }), queueUrl, 0).enqueue(messages(5))).rejects.toThrow(/refused 1 send-queue message/);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.length).toBeLessThanOrEqual(10);
    for (const c of calls.slice(1)) expect(entriesOf(c).map((e) => e.Id)).toEqual(['0']);
  });

  it('throws after persistent call failures', async () => {
    const boom = Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' });
    sqsMock.on(SendMessageBatchCommand).rejects(boom);
    await expect(new SqsSendQueue(new SQSClient({ region: 'us-east-1' }), queueUrl, 0).enqueue(messages(2))).rejects.toThrow('Service unavailable');
    const n = sqsMock.commandCalls(SendMessageBatchCommand).length;
    expect(n).toBeGreaterThan(1);
    expect(n).toBeLessThanOrEqual(10);
  });

  it('a failure in the second batch does not re-send the first', async () => {
    let call = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      call++;
      const entries = input.Entries ?? [];
      if (call === 2) return { Successful: entries.slice(1).map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })), Failed: [{ Id: entries[0]?.Id, SenderFault: false, Code: 'InternalError' }] };
      return { Successful: entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })), Failed: [] };
    });
    const all = messages(15);
    await new SqsSendQueue(new SQSClient({ region: 'us-east-1' }), queueUrl, 0).enqueue(all);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => entriesOf(c).length)).toEqual([10, 5, 1]);
    expect(bodies(calls[2] as never)).toEqual([all[10]]);
  });
});
