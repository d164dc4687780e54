/**
 * The on-call dashboard: one CloudWatch dashboard whose body shows every alarm of the stack, every
 * dead-letter queue, every function, and the SES rates with the alarms' thresholds; its console URL
 * is a stack output. Synthesized with the Salesforce relay on, so its queue and function count too.
 */
import { readFileSync } from 'node:fs';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { describe, expect, it } from 'vitest';
import type { CultivateFunction } from '../../lib/cultivate-function.ts';
import { LOG_COUNTED_METRICS } from '../../lib/dashboard.ts';
import { SES_NAMESPACE, SES_REPUTATION_METRICS, SWEEPER_METRICS } from '../../lib/operations.ts';
import { logicalId, resources, synthStack } from './synth.ts';

const context = {
  CULTIVATE_SALESFORCE_ORG_IDS: '00D5e000000KQ2e',
  CULTIVATE_SALESFORCE_TOKEN: 'cultivate/sf-token',
  salesforceEventRelaySource: 'aws.partner/salesforce.com/00D5e000000KQ2eEAG/0YL5e000000CabWGAS',
};
const { stack, template } = synthStack(context);

type Token = string | { Ref: string } | { 'Fn::GetAtt': [string, string] };
/** CloudFormation's Fn::Join of the body, done here: a Ref reads `<Ref X>`, a GetAtt `<X.Attr>`. */
function joined(value: { 'Fn::Join': [string, Token[]] } | string): string {
  if (typeof value === 'string') return value;
  const [sep, parts] = value['Fn::Join'];
  return parts.map((p) => (typeof p === 'string' ? p : 'Ref' in p ? `<Ref ${p.Ref}>` : `<${p['Fn::GetAtt'][0]}.${p['Fn::GetAtt'][1]}>`)).join(sep);
}

const dashboards = Object.values(resources(template, 'AWS::CloudWatch::Dashboard'));
const bodyText = joined(dashboards[0]?.Properties?.DashboardBody);
interface Widget {
  type: string;
  properties: { title?: string; alarms?: string[]; metrics?: unknown[][]; annotations?: { horizontal?: { value: number; label?: string }[] } };
}
const body = JSON.parse(bodyText) as { widgets: Widget[] };
const widget = (title: string): Widget => {
  const found = body.widgets.find((w) => w.properties.title === title);
  if (!found) throw new Error(`no widget titled ${title}; titles: ${body.widgets.map((w) => w.properties.title).join(' | ')}`);
  return found;
};
/** The metric arrays of a widget, one string each: [namespace, name, dim, value, ..., options]. */
const metricsOf = (w: Widget) => (w.properties.metrics ?? []).map((m) => JSON.stringify(m));

/** Queues something sends its failures to: redrive targets, rule and schedule DLQs, on-failure destinations. */
function deadLetterQueueIds(): Set<string> {
  const arnOf = (v: unknown) => (v as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
  const ids = new Set<string>();
  const add = (v: unknown) => {
    const id = arnOf(v);
    if (id) ids.add(id);
  };
  for (const q of Object.values(resources(template, 'AWS::SQS::Queue'))) add(q.Properties?.RedrivePolicy?.deadLetterTargetArn);
  for (const r of Object.values(resources(template, 'AWS::Events::Rule'))) for (const t of r.Properties?.Targets ?? []) add(t.DeadLetterConfig?.Arn);
  for (const s of Object.values(resources(template, 'AWS::Scheduler::Schedule'))) add(s.Properties?.Target?.DeadLetterConfig?.Arn);
  for (const c of Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig'))) add(c.Properties?.DestinationConfig?.OnFailure?.Destination);
  for (const m of Object.values(resources(template, 'AWS::Lambda::EventSourceMapping'))) add(m.Properties?.DestinationConfig?.OnFailure?.Destination);
  return ids;
}

describe('the on-call dashboard', () => {
  it('exists once, and its console URL is a stack output', () => {
    expect(dashboards).toHaveLength(1);
    const outputs = template.findOutputs('DashboardUrl');
    const url = joined(Object.values(outputs)[0]?.Value);
    expect(url).toMatch(/^https:\/\/console\.aws\.amazon\.com\/cloudwatch\/home\?region=<Ref AWS::Region>#dashboards\/dashboard\/<Ref OnCallDashboard[0-9A-F]+>$/);
  });

  it('shows the state of every alarm of the stack', () => {
    const alarmIds = Object.keys(resources(template, 'AWS::CloudWatch::Alarm'));
    expect(alarmIds.length).toBeGreaterThan(20);
    const status = body.widgets.filter((w) => w.type === 'alarm');
    expect(status).toHaveLength(1);
    expect([...(status[0]?.properties.alarms ?? [])].sort()).toEqual(alarmIds.map((id) => `<${id}.Arn>`).sort());
  });

  it('shows the visible messages of every dead-letter and on-failure queue, the Salesforce relay\'s included', () => {
    const dlqs = deadLetterQueueIds();
    expect(dlqs).toContain(logicalId(stack, stack.salesforceRelay!.deadLetterQueue));
    expect(dlqs).toContain(logicalId(stack, stack.sending.sendDeadLetterQueue));
    expect(dlqs.size).toBeGreaterThanOrEqual(14);
    const shown = metricsOf(widget('Messages waiting now'));
    for (const id of dlqs) {
      expect(shown.some((m) => m.includes('ApproximateNumberOfMessagesVisible') && m.includes(`<${id}.QueueName>`)), id).toBe(true);
    }
    // The send queue is not a dead-letter queue: it is shown with the send path.
    expect(shown.join()).not.toContain(logicalId(stack, stack.sending.sendQueue));
    expect(metricsOf(widget('Send queue depth')).join()).toContain(`<${logicalId(stack, stack.sending.sendQueue)}.QueueName>`);
  });

  it('shows errors, throttles and p99 duration of every function', () => {
    const functionIds = Object.keys(resources(template, 'AWS::Lambda::Function'));
    expect(functionIds).toContain(logicalId(stack, stack.salesforceRelay!.relayFunction));
    for (const [title, name] of [
      ['Errors by function', 'Errors'],
      ['Throttles by function', 'Throttles'],
      ['Duration p99 by function (ms)', 'Duration'],
    ] as const) {
      const shown = metricsOf(widget(title));
      expect(shown).toHaveLength(functionIds.length);
      for (const id of functionIds) expect(shown.some((m) => m.includes(`"${name}"`) && m.includes(`<Ref ${id}>`)), `${title}: ${id}`).toBe(true);
    }
  });

  it('draws the SES rates with the reputation alarms\' thresholds (half of SES\'s review rates)', () => {
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
    const threshold = (metricName: string) => alarms.find((a) => a.Properties?.Namespace === SES_NAMESPACE && a.Properties?.MetricName === metricName)?.Properties?.Threshold;
    expect(threshold(SES_REPUTATION_METRICS.bounceRate)).toBe(0.025);
    expect(threshold(SES_REPUTATION_METRICS.complaintRate)).toBe(0.0005);
    for (const [title, metricName] of [
      ['SES bounce rate', SES_REPUTATION_METRICS.bounceRate],
      ['SES complaint rate', SES_REPUTATION_METRICS.complaintRate],
    ] as const) {
      const w = widget(title);
      expect(metricsOf(w)[0]).toContain(`"${SES_NAMESPACE}","${metricName}"`);
      expect(w.properties.annotations?.horizontal?.map((a) => a.value)).toEqual([threshold(metricName)]);
    }
    expect(metricsOf(widget('SES sends and outcomes (per hour)')).join()).toContain(`"${SES_NAMESPACE}","Send"`);
  });

  it('draws the other watched metrics with their alarms\' thresholds (oldest due touch, send queue age, iterator age)', () => {
    const line = (title: string) => widget(title).properties.annotations?.horizontal?.map((a) => a.value);
    expect(line('Oldest due touch age (s)')).toEqual([900]);
    expect(line('Send queue oldest message age (s)')).toEqual([900]);
    expect(line('Metrics stream iterator age (ms)')).toEqual([15 * 60 * 1000]);
    expect(metricsOf(widget('Oldest due touch age (s)'))[0]).toContain(`"${SWEEPER_METRICS.oldestDueTouchAgeSeconds}","service","cultivate"`);
  });

  it('counts sends, SES throttling and accepted webhooks from the log lines the functions really write', () => {
    const filters = Object.values(resources(template, 'AWS::Logs::MetricFilter'));
    const sources: Record<keyof typeof LOG_COUNTED_METRICS, { fn: CultivateFunction; files: string[] }> = {
      touchesSent: { fn: stack.sending.senderFunction, files: ['functions/handlers/send.ts'] },
      touchesThrottled: { fn: stack.sending.senderFunction, files: ['functions/handlers/send.ts'] },
      webhooksAccepted: { fn: stack.api.ingestFunction, files: ['functions/handlers/ingest.ts', 'functions/crm/ingest.ts'] },
    };
    for (const [key, counted] of Object.entries(LOG_COUNTED_METRICS) as [keyof typeof LOG_COUNTED_METRICS, (typeof LOG_COUNTED_METRICS)[keyof typeof LOG_COUNTED_METRICS]][]) {
      const filter = filters.find((f) => f.Properties?.MetricTransformations?.[0]?.MetricName === counted.metricName);
      expect(filter, counted.metricName).toBeDefined();
      expect(filter!.Properties?.LogGroupName).toEqual({ Ref: logicalId(stack, sources[key].fn.logGroupRef) });
      const source = sources[key].files.map((f) => readFileSync(new URL(`../../${f}`, import.meta.url), 'utf8')).join('\n');
      for (const message of counted.messages) {
        expect(filter!.Properties?.FilterPattern).toContain(`$.message = "${message}"`);
        // The function still logs exactly this message; renaming it would silently zero the graph.
        expect(source, message).toMatch(new RegExp(`logger\\.(info|warn|error)\\(\\s*'${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`));
      }
    }
  });

  it('reads the sweeper\'s metrics under the names the sweeper publishes', () => {
    const sweeper = readFileSync(new URL('../../functions/lambda/sweeper.ts', import.meta.url), 'utf8');
    const published = [...sweeper.matchAll(/addMetric\('([A-Za-z]+)'/g)].map((m) => m[1]).sort();
    expect(published).toEqual(Object.values(SWEEPER_METRICS).sort());
  });

  it('refuses an alarm the dashboard does not show (its validation fails the synth)', () => {
    expect(stack.dashboard.node.validate()).toEqual([]);
    // Added to the stack already synthesized above: a second synthesis would take seconds more.
    new cloudwatch.Alarm(stack, 'Unseen', { metric: stack.sending.sendQueue.metricNumberOfMessagesSent(), threshold: 1, evaluationPeriods: 1 });
    expect(stack.dashboard.node.validate()).toEqual(['alarm CultivateTest/Unseen is not on the dashboard: pass it in CultivateDashboardProps.alarms']);
  });
});
