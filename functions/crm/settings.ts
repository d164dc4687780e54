/**
 * Where CRM settings come from. Locally: environment variables, read by `npm start`. On AWS: a plain
 * setting is an environment variable of the same name (from CDK context of the same name); a secret
 * one is `<NAME>_SECRET_ARN`, read from Secrets Manager at run time (cached five minutes by the
 * caller's `secret` function), so no secret value is ever in the template or an environment.
 */
import type { CrmDefinition, CrmSettings } from './types.ts';

export function envSettings(env: Record<string, string | undefined>, readSecret?: (arn: string) => Promise<string>): CrmSettings {
  const value = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  return {
    has: (name) => value(name) !== undefined || (readSecret !== undefined && value(`${name}_SECRET_ARN`) !== undefined),
    async get(name) {
      const plain = value(name);
      if (plain !== undefined) return plain;
      const arn = value(`${name}_SECRET_ARN`);
      return arn && readSecret ? readSecret(arn) : undefined;
    },
  };
}

/** The required settings of a CRM that are absent (its route answers 404 naming them). */
export function missingSettings(def: CrmDefinition, settings: CrmSettings): string[] {
  return def.requiredSettings.filter((name) => !settings.has(name));
}
