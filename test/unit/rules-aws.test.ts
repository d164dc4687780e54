/**
 * The AWS side of published rules, through the real SDK clients with the transport mocked
 * (AppConfig cannot run locally): the publisher's calls (a hosted version with the optimistic lock,
 * then its deployment), "in force" as the newest completed deployment, the LAMBDA validator (the
 * same parseConfig), and the functions reading the deployed version through Powertools' AppConfig
 * provider, stamping it on what they plan.
 */
import {
  AppConfigClient,
  ConflictException,
  CreateHostedConfigurationVersionCommand,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  ListHostedConfigurationVersionsCommand,
  StartDeploymentCommand,
} from '@aws-sdk/client-appconfig';
import { AppConfigDataClient, GetLatestConfigurationCommand, StartConfigurationSessionCommand } from '@aws-sdk/client-appconfigdata';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AppConfigRulesVersions, rulesOfContent } from '#adapters/appconfig-rules';
import { readConfigSources } from '#config/load';
import { filesOf, rulesHash } from '#config/rules';
import type { StampedTouch } from '#domain/replan';
import type { PublishedRules } from '#ports/ports';
import { handler as validate } from '../../functions/lambda/rules-validator.ts';
import { NOW, person, thursdayConfig } from '../helpers/replan.ts';

const thursday = thursdayConfig();
const files = filesOf(readConfigSources(thursday.dir));
afterAll(() => thursday.remove());
const ids = { application: 'app1', environment: 'env1', profile: 'prof1', deploymentStrategy: 'strat1' };
const bundle = (version: number): PublishedRules => ({ version, files, publishedAt: NOW.toISOString(), note: 'Thursdays', hash: rulesHash(files) });
const content = (v: PublishedRules) => new Uint8Array(Buffer.from(JSON.stringify(v)));

describe('AppConfigRulesVersions', () => {
  const client = new AppConfigClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const mock = mockClient(client);
  const versions = new AppConfigRulesVersions(client, ids);
  beforeEach(() => mock.reset());

  it('publishes the next hosted version under the lock of the latest number, then deploys it with the strategy', async () => {
    mock.on(ListDeploymentsCommand).resolves({ Items: [{ ConfigurationProfileId: 'prof1', ConfigurationVersion: '3', State: 'COMPLETE' }] });
    mock.on(ListHostedConfigurationVersionsCommand).resolves({ Items: [{ VersionNumber: 4 }] });
    mock.on(CreateHostedConfigurationVersionCommand).resolves({ VersionNumber: 5 });
    mock.on(StartDeploymentCommand).resolves({ DeploymentNumber: 7 });
    const { version: _v, ...rules } = bundle(0);
    const published = await versions.publish(rules, 3, files);
    expect(published).toMatchObject({ version: 5, note: 'Thursdays' });
    const create = mock.commandCalls(CreateHostedConfigurationVersionCommand)[0]?.args[0].input;
    expect(create).toMatchObject({ ApplicationId: 'app1', ConfigurationProfileId: 'prof1', ContentType: 'application/json', LatestVersionNumber: 4, VersionLabel: 'v5', Description: 'Thursdays' });
    expect(JSON.parse(Buffer.from(create?.Content as Uint8Array).toString('utf8'))).toMatchObject({ version: 5, files, hash: rules.hash });
    expect(mock.commandCalls(StartDeploymentCommand)[0]?.args[0].input).toMatchObject({ EnvironmentId: 'env1', DeploymentStrategyId: 'strat1', ConfigurationVersion: '5' });
  });

  it('a version that changes only controls.yaml (a kill switch) goes out all at once; any other change rolls out gradually', async () => {
    const immediate = new AppConfigRulesVersions(client, { ...ids, immediateStrategy: 'AppConfig.AllAtOnce' });
    const inForce = bundle(3);
    mock.on(ListDeploymentsCommand).resolves({ Items: [{ ConfigurationProfileId: 'prof1', ConfigurationVersion: '3', State: 'COMPLETE' }] });
    mock.on(ListHostedConfigurationVersionsCommand).resolves({ Items: [{ VersionNumber: 3 }] });
    mock.on(CreateHostedConfigurationVersionCommand).resolves({ VersionNumber: 4 });
    mock.on(StartDeploymentCommand).resolves({ DeploymentNumber: 8 });
    const { version: _v, ...same } = inForce;
    const pauseAll = { ...same, files: { ...same.files, 'controls.yaml': 'paused: true\n' } };
    expect(await immediate.publish(pauseAll, 3, inForce.files)).toMatchObject({ version: 4 });
    expect(mock.commandCalls(StartDeploymentCommand)[0]?.args[0].input.DeploymentStrategyId).toBe('AppConfig.AllAtOnce');
    mock.resetHistory();
    const cadence = { ...pauseAll, files: { ...pauseAll.files, 'cadence.yaml': `${same.files['cadence.yaml']}\n# Thursdays\n` } };
    expect(await immediate.publish(cadence, 3, inForce.files)).toMatchObject({ version: 4 });
    expect(mock.commandCalls(StartDeploymentCommand)[0]?.args[0].input.DeploymentStrategyId).toBe('strat1');
  });

  it('a kill switch on a fresh stack (the bundled folder in force as version 0, nothing deployed yet) goes out all at once too', async () => {
    const immediate = new AppConfigRulesVersions(client, { ...ids, immediateStrategy: 'AppConfig.AllAtOnce' });
    mock.on(ListDeploymentsCommand).resolves({ Items: [] });
    mock.on(ListHostedConfigurationVersionsCommand).resolves({ Items: [] });
    mock.on(CreateHostedConfigurationVersionCommand).resolves({ VersionNumber: 1 });
    mock.on(StartDeploymentCommand).resolves({ DeploymentNumber: 1 });
    const { version: _v, ...v0 } = bundle(0);
    const pauseAll = { ...v0, files: { ...v0.files, 'controls.yaml': 'paused: true\n' } };
    expect(await immediate.publish(pauseAll, 0, v0.files)).toMatchObject({ version: 1 });
    expect(mock.commandCalls(StartDeploymentCommand)[0]?.args[0].input).toMatchObject({ DeploymentStrategyId: 'AppConfig.AllAtOnce', ConfigurationVersion: '1' });
    // Nothing hosted is read back to compare: the caller's in-force files are the comparison.
    expect(mock.commandCalls(GetHostedConfigurationVersionCommand)).toHaveLength(0);
  });

  it('says which version is still rolling out; a conflict from a stale version or when the lock was lost', async () => {
    const { version: _v, ...rules } = bundle(0);
    mock.on(ListDeploymentsCommand).resolves({ Items: [{ ConfigurationProfileId: 'prof1', ConfigurationVersion: '4', State: 'BAKING' }, { ConfigurationVersion: '3', State: 'COMPLETE' }] });
    expect(await versions.publish(rules, 3, files)).toEqual({ kind: 'rolling-out', version: 4, state: 'BAKING' });
    mock.on(ListDeploymentsCommand).resolves({ Items: [{ ConfigurationProfileId: 'prof1', ConfigurationVersion: '4', State: 'COMPLETE' }] });
    expect(await versions.publish(rules, 3, files)).toBe('conflict');
    mock.on(ListHostedConfigurationVersionsCommand).resolves({ Items: [{ VersionNumber: 4 }] });
    mock.on(CreateHostedConfigurationVersionCommand).rejects(new ConflictException({ message: 'version 5 exists', $metadata: {} }));
    expect(await versions.publish(rules, 4, files)).toBe('conflict');
    expect(mock.commandCalls(StartDeploymentCommand)).toHaveLength(0);
  });

  it('a hosted version that is not JSON (made by hand in the console) is not a rules version', () => {
    expect(rulesOfContent(new Uint8Array(Buffer.from('paused: true')))).toBeUndefined();
    expect(rulesOfContent(content(bundle(2)))?.version).toBe(2);
  });

  it('the version in force is the newest completed deployment, not one rolled back', async () => {
    mock.on(ListDeploymentsCommand).resolves({
      Items: [
        { ConfigurationProfileId: 'prof1', ConfigurationVersion: '6', State: 'ROLLED_BACK' },
        { ConfigurationProfileId: 'prof1', ConfigurationVersion: '5', State: 'COMPLETE' },
        { ConfigurationProfileId: 'prof1', ConfigurationVersion: '3', State: 'COMPLETE' },
      ],
    });
    mock.on(GetHostedConfigurationVersionCommand, { VersionNumber: 5 }).resolves({ Content: content(bundle(5)) } as never);
    expect((await versions.current())?.version).toBe(5);
    expect(await versions.completed()).toEqual([5, 3]);
  });
});

describe('the LAMBDA validator', () => {
  const event = (v: PublishedRules, configurationVersion = String(v.version)) => ({ applicationId: 'app1', configurationProfileId: 'prof1', configurationVersion, content: Buffer.from(JSON.stringify(v)).toString('base64') });

  it('accepts a valid version and refuses a bad file with its line and column', async () => {
    await expect(validate(event(bundle(2)))).resolves.toBeUndefined();
    const bad = { ...bundle(2), files: { ...files, 'cadence.yaml': (files['cadence.yaml'] as string).replace('start: "09:00"', 'start: "25:00"') } };
    await expect(validate(event(bad))).rejects.toThrow(/^rules v2 refused: cadence\.yaml:\d+:\d+: windows\.default\.start/);
  });

  it('refuses what is not a rules version, or one stored under another number', async () => {
    await expect(validate({ ...event(bundle(2)), content: Buffer.from('{"flags": {}}').toString('base64') })).rejects.toThrow(/not a rules version/);
    await expect(validate(event(bundle(2), '3'))).rejects.toThrow(/rules version 2 stored as AppConfig version 3/);
  });
});

describe('the functions read the deployed version (Powertools AppConfig provider)', () => {
  const data = mockClient(AppConfigDataClient);
  const saved = { ...process.env };
  afterAll(() => {
    data.restore();
    process.env = saved;
  });

  it('plans with the deployed rules, stamped with their version; with nothing deployed, the bundled folder is version 0', async () => {
    Object.assign(process.env, { APPCONFIG_APPLICATION_ID: 'app1', APPCONFIG_ENVIRONMENT_ID: 'env1', APPCONFIG_PROFILE_ID: 'prof1', CULTIVATE_PUBLIC_BASE_URL: 'https://api.seller.example', CULTIVATE_CONFIG_DIR: 'config', AWS_REGION: 'eu-west-1' });
    const { pipeline, refreshRules } = await import('../../functions/lambda/config.ts');
    data.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 't0' });
    data.on(GetLatestConfigurationCommand).resolves({ Configuration: new Uint8Array(), NextPollConfigurationToken: 't1' } as never);
    expect(await refreshRules()).toBe(0);
    const planned0 = person(pipeline().planner, 'ada', 'timing', 'emailing').nextTouch as StampedTouch;
    expect(planned0.rulesVersion).toBe(0);

    data.on(GetLatestConfigurationCommand).resolves({ Configuration: content(bundle(7)), NextPollConfigurationToken: 't2', ContentType: 'application/json' } as never);
    // A fresh provider cache: the next refresh asks AppConfig again (maxAge passed).
    const { clearCaches } = await import('@aws-lambda-powertools/parameters');
    clearCaches();
    expect(await refreshRules()).toBe(7);
    const planned7 = person(pipeline().planner, 'ada', 'timing', 'emailing').nextTouch as StampedTouch;
    expect(planned7).toMatchObject({ rulesVersion: 7, rule: expect.stringMatching(/\(rules v7\)$/) });
    expect(pipeline().rules.cadence.guardrails.perAccount.touches.per7Days).toBe(1);
  });
});
