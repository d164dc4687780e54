/** Shared helpers for the CDK assertion tests: synthesize without bundling, look things up. */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CultivateStack, type CultivateStackProps } from '../../lib/cultivate-stack.ts';

export interface Synthesized {
  readonly app: App;
  readonly stack: CultivateStack;
  readonly template: Template;
}

/** A CultivateStack in a fresh App; `aws:cdk:bundling-stacks: []` makes functions use a placeholder asset. */
export function synthStack(context: Record<string, unknown> = {}, props: CultivateStackProps = {}): Synthesized {
  const { app, stack } = buildStack(context, props);
  return { app, stack, template: Template.fromStack(stack) };
}

/** The context from cdk.json (feature flags), so tests synthesize what `cdk synth` does. */
const cdkJsonContext = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context?: Record<string, unknown> })
  .context ?? {};

/** The same, not yet synthesized (to register validation plugins or add constructs first). */
export function buildStack(context: Record<string, unknown> = {}, props: CultivateStackProps = {}) {
  const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new CultivateStack(app, 'CultivateTest', props);
  return { app, stack };
}

export type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;

export function resources(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** Logical id of a construct's CloudFormation resource. */
export function logicalId(stack: CultivateStack, construct: { node: { defaultChild?: unknown } }): string {
  const child = construct.node.defaultChild;
  if (!child) throw new Error('construct has no default child');
  return stack.getLogicalId(child as never);
}

/** Every IAM action granted to a role (all policies attached to it), with the resources of each statement. */
export function roleStatements(template: Template, roleLogicalId: string): { actions: string[]; resources: unknown[] }[] {
  const out: { actions: string[]; resources: unknown[] }[] = [];
  for (const policy of Object.values(resources(template, 'AWS::IAM::Policy'))) {
    const roles = (policy.Properties?.Roles ?? []) as { Ref?: string }[];
    if (!roles.some((r) => r.Ref === roleLogicalId)) continue;
    for (const st of policy.Properties?.PolicyDocument?.Statement ?? []) {
      if (st.Effect !== 'Allow') continue;
      const actions = ([] as string[]).concat(st.Action);
      const res = ([] as unknown[]).concat(st.Resource);
      out.push({ actions, resources: res });
    }
  }
  return out;
}

export function roleActions(template: Template, roleLogicalId: string): Set<string> {
  return new Set(roleStatements(template, roleLogicalId).flatMap((s) => s.actions));
}

/** The logical id of a function's execution role. */
export function functionRoleId(template: Template, functionLogicalId: string): string {
  const fn = resources(template, 'AWS::Lambda::Function')[functionLogicalId];
  if (!fn) throw new Error(`no function ${functionLogicalId}`);
  const role = fn.Properties?.Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}
