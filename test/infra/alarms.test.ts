/** Audience-health alarms: at half of the rates at which SES reviews an account (bounce 5 %, complaint 0.1 %). */
import { describe, expect, it } from 'vitest';
import { resources, synthStack } from './synth.ts';

const { template } = synthStack();
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
