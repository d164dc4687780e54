/**
 * On AWS the metrics stream judges `autoPause` with the rules in force (functions/lambda/config.ts
 * `rulesConfigInForce`): the deployed AppConfig version through Powertools' provider (the SDK's
 * transport mocked, as in rules-aws.test.ts), else the config/ folder bundled with the code.
 */
import { AppConfigDataClient, GetLatestConfigurationCommand, StartConfigurationSessionCommand } from '@aws-sdk/client-appconfigdata';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfigSources } from '#config/load';
import { filesOf, rulesHash } from '#config/rules';
import type { PublishedRules } from '#ports/ports';

describe('rulesConfigInForce (the metrics stream on AWS)', () => {
  const data = mockClient(AppConfigDataClient);
  const saved = { ...process.env };
  afterAll(() => {
    data.restore();
    process.env = saved;
  });

  it('reads the bundled folder until a version is deployed, then the deployed one (parsed once per version)', async () => {
    Object.assign(process.env, { APPCONFIG_APPLICATION_ID: 'app1', APPCONFIG_ENVIRONMENT_ID: 'env1', APPCONFIG_PROFILE_ID: 'prof1', CULTIVATE_CONFIG_DIR: 'config', AWS_REGION: 'eu-west-1' });
    const { rulesConfigInForce } = await import('../../functions/lambda/config.ts');
    data.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 't0' });
    data.on(GetLatestConfigurationCommand).resolves({ Configuration: new Uint8Array(), NextPollConfigurationToken: 't1' } as never);
    const bundled = await rulesConfigInForce();
    expect(bundled.cadence.autoPause).toEqual({ minEmails: 200, unsubscribePercent: 1, complaintPercent: 0.1 });

    const sources = readConfigSources('config');
    const files = filesOf({ ...sources, cadence: { ...sources.cadence, text: sources.cadence.text.replace('minEmails: 200', 'minEmails: 500') } });
    const v3: PublishedRules = { version: 3, files, publishedAt: '2026-12-01T09:00:00.000Z', note: 'judge later', hash: rulesHash(files) };
    data.on(GetLatestConfigurationCommand).resolves({ Configuration: new Uint8Array(Buffer.from(JSON.stringify(v3))), NextPollConfigurationToken: 't2', ContentType: 'application/json' } as never);
    const { clearCaches } = await import('@aws-lambda-powertools/parameters');
    clearCaches();
    const deployed = await rulesConfigInForce();
    expect(deployed.cadence.autoPause?.minEmails).toBe(500);
    // The same version again: the same parsed rules.
    expect(await rulesConfigInForce()).toBe(deployed);
  });
});
