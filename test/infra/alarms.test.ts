/**
 * Audience-health alarms: at half of the rates at which SES reviews an account (bounce 5 %,
 * complaint 0.1 %), and when a content item or track paused itself (cadence.yaml autoPause).
 */
import { describe, expect, it } from 'vitest';
import { logicalId, resources, synthStack } from './synth.ts';

const { template, stack } = synthStack();
const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
const on = (metricName: string) => alarms.find((a) => a.Properties?.Namespace === 'AWS/SES' && a.Properties?.MetricName === metricName);

describe('SES reputation alarms', () => {
  it('bounce rate above 2.5 % and complaint rate above 0.05 %, each notifying the alarm topic', () => {
    const bounce = on('Reputation.BounceRate');
    const complaint = on('Reputation.ComplaintRate');
    expect(bounce?.Properties).toMatchObject({ Threshold: 0.025, ComparisonOperator: 'GreaterThanThreshold' });
    expect(complaint?.Properties).toMatchObject({ Threshold: 0.0005, ComparisonOperator: 'GreaterThanThreshold' });
    for (const a of [bounce, complaint]) expect(a?.Properties?.AlarmActions?.length).toBeGreaterThan(0);
  });
});

describe('auto-pause alarm', () => {
  it('counts the metrics stream\'s "auto-paused" log lines (metric AutoPaused) and alarms the topic at the first', () => {
    const filters = Object.values(resources(template, 'AWS::Logs::MetricFilter')).filter((f) => f.Properties?.MetricTransformations?.[0]?.MetricName === 'AutoPaused');
    expect(filters).toHaveLength(1);
    expect(filters[0]?.Properties?.FilterPattern).toBe('{ $.metric = "AutoPaused" }');
    expect(filters[0]?.Properties?.MetricTransformations[0]).toMatchObject({ MetricNamespace: 'Cultivate', MetricValue: '1', DefaultValue: 0 });
    // On the stream function's own log group.
    const logGroupId = logicalId(stack, stack.metrics.streamFunction.logGroupRef);
    expect(filters[0]?.Properties?.LogGroupName).toEqual({ Ref: logGroupId });
    const alarm = alarms.find((a) => a.Properties?.MetricName === 'AutoPaused');
    expect(alarm?.Properties).toMatchObject({ Namespace: 'Cultivate', Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    expect(alarm?.Properties?.AlarmDescription).toContain('cultivate config pauses');
    expect(alarm?.Properties?.AlarmActions?.length).toBeGreaterThan(0);
  });
});
