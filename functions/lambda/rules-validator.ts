/**
 * AppConfig LAMBDA validator of the rules profile: before a version is deployed, AppConfig sends
 * its content (base64); the same `parseConfig` as `cultivate config check` decides. A refusal is a
 * thrown error (AppConfig reads the function error), naming file:line:col for each problem.
 */
import { checkRules, PublishedRulesSchema } from '#config/rules';
import { logger } from './runtime.ts';

interface ValidatorEvent {
  applicationId: string;
  configurationProfileId: string;
  configurationVersion: string;
  content: string;
  uri?: string;
}

export const handler = async (event: ValidatorEvent): Promise<void> => {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(event.content, 'base64').toString('utf8'));
  } catch {
    throw new Error('not a rules version: the content is not JSON');
  }
  const bundle = PublishedRulesSchema.safeParse(json);
  if (!bundle.success) {
    throw new Error(`not a rules version: ${bundle.error.issues.map((i) => `${i.path.join('.') || '(content)'}: ${i.message}`).join('; ')}`);
  }
  if (String(bundle.data.version) !== event.configurationVersion) {
    throw new Error(`rules version ${bundle.data.version} stored as AppConfig version ${event.configurationVersion}: publish through cultivate config publish`);
  }
  const checked = checkRules(bundle.data.files);
  if (!checked.ok) {
    logger.warn('rules version refused', { configurationVersion: event.configurationVersion, problems: checked.problems.length });
    throw new Error(`rules v${bundle.data.version} refused: ${checked.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('; ')}`.slice(0, 4000));
  }
  logger.info('rules version valid', { configurationVersion: event.configurationVersion, hash: bundle.data.hash });
};
