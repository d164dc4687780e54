/**
 * CRM settings on AWS, under the same names as locally (`CULTIVATE_HUBSPOT_CLIENT_SECRET`, ...), set
 * as CDK context. A secret setting's context value is the *name* of a Secrets Manager secret the
 * CRM admin created (`aws secretsmanager create-secret --name cultivate/hubspot-client-secret ...`):
 * the function receives `<NAME>_SECRET_ARN` and reads the value at run time, so no secret is ever
 * in the template. A plain setting (URLs, org ids) becomes an environment variable of the same name.
 * A CRM whose required settings are absent is off: its webhook route answers 404 naming them.
 */
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { crmDefinitions } from '#crm/registry';
import type { CrmDefinition } from '#crm/types';
import type { CultivateFunction } from './cultivate-function.ts';

/** The settings each CRM's webhook authentication reads: the only secrets the ingest function may read. */
export const INBOUND_AUTH_SETTINGS: readonly string[] = [
  'CULTIVATE_HUBSPOT_CLIENT_SECRET',
  'CULTIVATE_SALESFORCE_TOKEN',
  'CULTIVATE_SALESFORCE_ORG_IDS',
  'CULTIVATE_PIPEDRIVE_BASIC_AUTH',
];

export interface CrmSetting {
  readonly name: string;
  readonly crm: string;
  readonly secret: boolean;
  readonly required: boolean;
}

export function allCrmSettings(defs: readonly CrmDefinition[] = Object.values(crmDefinitions)): CrmSetting[] {
  return defs.flatMap((d) =>
    [...d.requiredSettings, ...d.optionalSettings]
      .filter((name, i, all) => all.indexOf(name) === i && name !== 'CULTIVATE_PUBLIC_BASE_URL')
      .map((name) => ({ name, crm: d.crm, secret: d.secretSettings.includes(name), required: d.requiredSettings.includes(name) })),
  );
}

/** The CRM settings present in context, resolved once per stack (one imported secret per name). */
export class CrmSettingsBinding {
  private readonly secrets = new Map<string, secretsmanager.ISecret>();
  readonly present: { setting: CrmSetting; value: string }[];

  constructor(private readonly scope: Construct) {
    this.present = allCrmSettings().flatMap((setting) => {
      const value: unknown = scope.node.tryGetContext(setting.name);
      if (value === undefined || value === null || value === '') return [];
      if (typeof value !== 'string') throw new Error(`context "${setting.name}" must be a string, got ${JSON.stringify(value)}`);
      return [{ setting, value: value.trim() }];
    });
  }

  /** Which CRMs are switched on (every required setting present). */
  configuredCrms(): string[] {
    return Object.values(crmDefinitions)
      .filter((d) => d.requiredSettings.every((n) => n === 'CULTIVATE_PUBLIC_BASE_URL' || this.present.some((p) => p.setting.name === n)))
      .map((d) => d.crm);
  }

  private secret(name: string, secretName: string): secretsmanager.ISecret {
    let s = this.secrets.get(name);
    if (!s) {
      s = secretsmanager.Secret.fromSecretNameV2(this.scope, `Crm${name.replace(/^CULTIVATE_|_/g, '')}`, secretName);
      this.secrets.set(name, s);
    }
    return s;
  }

  /**
   * Sets every present setting on the function. Secrets are granted only where the function reads
   * them: `inbound` the webhook-authentication secrets (the ingest function only needs to know the
   * others exist, to route), `api` the CRM API secrets and never the webhook ones (normaliser,
   * outbound, import, reply forwards), `none` nothing (the quarantine review and the Event Relay
   * function only need to know which CRMs are on).
   */
  bind(fn: CultivateFunction, read: 'none' | 'inbound' | 'api'): void {
    for (const { setting, value } of this.present) {
      if (!setting.secret) {
        fn.addEnvironment(setting.name, value);
        continue;
      }
      const secret = this.secret(setting.name, value);
      const forInbound = INBOUND_AUTH_SETTINGS.includes(setting.name);
      if ((read === 'inbound' && forInbound) || (read === 'api' && !forInbound)) secret.grantRead(fn);
      fn.addEnvironment(`${setting.name}_SECRET_ARN`, secret.secretArn);
    }
  }
}
